using Cluster.Vmm.Machine;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerCodecNicTests
{
    private static readonly MachineConfig WithNics = new()
    {
        Vcpus = 1, MemoryBytes = 4 << 20, Image = new BuiltInGuestImage("net"),
        Nics = [new NicConfig("02:00:00:00:00:01", "chtab12cd340", 1450), new NicConfig("02:00:00:00:00:02", "chtab12cd341")],
    };

    [Fact]
    public void A_machines_nics_cross_to_the_worker_with_create_and_listen_incoming()
    {
        var create = WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(new WorkerCreate("vm-1", 1, WithNics))), r => r.ReadCreate());
        Assert.Equal(WithNics.Nics, create.Machine.Nics);
        var incoming = WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(new WorkerIncoming("vm-1", 1, WithNics))), r => r.ReadIncoming());
        Assert.Equal(WithNics.Nics, incoming.Machine.Nics);
        var old = WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(new WorkerCreate("vm-1", 1, WithNics), 3)), r => r.ReadCreate(version: 3));
        Assert.Empty(old.Machine.Nics);
    }

    [Fact]
    public void A_nic_goes_by_its_taps_name_never_by_a_descriptor()
    {
        var byFd = WithNics with { Nics = [new NicConfig("02:00:00:00:00:01") { TapFd = new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false) }] };
        Assert.Throws<VmmException>(() => WorkerCodec.Encode(w => w.Write(new WorkerCreate("vm-1", 1, byFd))));
    }
}
