using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>Specs and limits for tests.</summary>
public static class Specs
{
    public static VmSpecLimits Limits(IReadOnlySet<string> builtIns) => new(8, 1 << 20, 1UL << 30, builtIns);

    public static VmSpec Of(string id, string image = "hello", RestartPolicy? restart = null) =>
        new(id, id, 1, 2 << 20, new BuiltInImage(image), [], new Dictionary<string, string>(), null, restart ?? RestartPolicy.Never);
}
