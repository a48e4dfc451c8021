using System.Text;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders;

public class BootArgumentsTests
{
    private static string ReadCString(TestMemory m, ulong gpa)
    {
        var bytes = new List<byte>();
        for (byte b; (b = m.Memory.ReadU8(gpa)) != 0; gpa++) bytes.Add(b);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    [Fact]
    public void Writes_a_null_terminated_argv_of_c_strings()
    {
        using var m = new TestMemory(4UL << 20);
        var args = BootArguments.Write(m.Memory, ["16", "héllo", ""]);
        Assert.Equal(3, args.Count);
        var strings = Enumerable.Range(0, 3).Select(i => ReadCString(m, m.Memory.ReadU64(args.ArgvAddress + (ulong)i * 8))).ToList();
        Assert.Equal(["16", "héllo", ""], strings);
        Assert.Equal(0UL, m.Memory.ReadU64(args.ArgvAddress + 24));
    }

    [Fact]
    public void Refuses_arguments_that_do_not_fit()
    {
        using var m = new TestMemory(4UL << 20);
        var e = Assert.Throws<VmmException>(() => BootArguments.Write(m.Memory, [new string('x', 64 * 1024)]));
        Assert.Contains("guest arguments need", e.Message);
    }
}
