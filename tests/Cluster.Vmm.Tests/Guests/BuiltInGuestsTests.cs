using Cluster.Vmm.Guests;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Guests;

public class BuiltInGuestsTests
{
    private static readonly string[] Names = ["hello", "counter", "abcount", "dirtier", "compute", "abpages", "timer", "smp", "triple", "blk", "codewalk", "net"];

    public static TheoryData<string> AllGuests => new(Names);

    [Theory]
    [MemberData(nameof(AllGuests))]
    public void Every_guest_is_built_and_loads_at_or_above_one_mebibyte(string name)
    {
        using var m = new TestMemory(8UL << 20);
        var image = ElfLoader.LoadFile(BuiltInGuests.Find(name), m.Memory, m.Size);
        Assert.True(image.Start >= GuestLayout.ImageBase);
        Assert.InRange(image.Entry, image.Start, image.End - 1);
    }

    [Fact]
    public void Lists_the_guests_present()
    {
        Assert.Equal(Names.Order(StringComparer.Ordinal), BuiltInGuests.Names);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("../hello")]
    [InlineData("")]
    public void Refuses_names_that_are_not_guests(string name)
    {
        Assert.Throws<VmmException>(() => BuiltInGuests.Find(name));
    }

    [Fact]
    public void Native_builds_exist_except_for_hardware_bound_guests()
    {
        Assert.NotNull(BuiltInGuests.FindNative("compute"));
        Assert.NotNull(BuiltInGuests.FindNative("smp"));
        Assert.Null(BuiltInGuests.FindNative("timer"));
        Assert.Null(BuiltInGuests.FindNative("triple"));
        Assert.Null(BuiltInGuests.FindNative("blk"));
    }
}
