using Xunit;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Devices.Exit;

namespace Cluster.Vmm.Tests.Devices.Exit;

public class ExitDeviceTests
{
    [Fact]
    public void Reports_the_written_value_as_the_exit_status_once()
    {
        var device = new ExitDevice();
        var seen = new List<int>();
        device.ExitRequested += seen.Add;

        Assert.Null(device.Status);
        device.Write(0, 4, 42);
        device.Write(0, 1, 7);

        Assert.Equal([42], seen);
        Assert.Equal(42, device.Status);
    }

    [Fact]
    public void State_round_trips_into_a_new_device()
    {
        var device = new ExitDevice();
        device.Write(0, 4, 3);
        var copy = new ExitDevice();
        copy.RestoreState(device.SaveState());
        Assert.Equal(3, copy.Status);
        Assert.Throws<VmmException>(() => copy.RestoreState([9, 9]));
    }
}
