using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Contracts.Tests.TestUtils;

/// <summary>Valid specs and limits to derive test cases from.</summary>
public static class Specs
{
    public static VmSpecLimits Limits { get; } =
        new(MaxVcpus: 8, MinMemoryBytes: 1 << 20, MaxMemoryBytes: 4UL << 30, new HashSet<string> { "hello", "counter", "triple" });

    public static VmSpec Hello(string id = "vm-1") =>
        new(id, "hello vm", 1, 16 << 20, new BuiltInImage("hello"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);
}
