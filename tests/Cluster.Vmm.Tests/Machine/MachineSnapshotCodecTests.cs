using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Xunit;

namespace Cluster.Vmm.Tests.Machine;

public class MachineSnapshotCodecTests
{
    private static MachineSnapshot Sample()
    {
        var regs = new Registers { Rax = 1, R15 = 15, Rip = 0x100000, Rflags = 0x202 };
        var sregs = new SpecialRegisters
        {
            Cs = new Segment { Base = 0, Limit = 0xffffffff, Selector = 8, Type = 0xb, Present = true, S = true, L = true, G = true },
            Tr = new Segment { Limit = 0x67, Selector = 0x18, Type = 0xb, Present = true },
            Ldt = new Segment { Unusable = true, Avl = true, Dpl = 3 },
            Gdt = new DescriptorTable { Base = 0x1000, Limit = 39 },
            Cr0 = 0x80050033, Cr3 = 0x2000, Cr4 = 0x20, Efer = 0x500, ApicBase = 0xfee00900,
        };
        var vcpu = new VcpuState
        {
            Backend = BackendKind.Kvm, Id = 1, Registers = regs, SpecialRegisters = sregs,
            Msrs = [new MsrEntry(Msr.Lstar, 0xffff_8000_0000_1000)], Blobs = { ["xsave"] = [1, 2, 3], ["lapic"] = [] },
        };
        var vm = new VmState { Backend = BackendKind.Kvm, Blobs = { ["pit"] = [9] } };
        return new MachineSnapshot(BackendKind.Kvm, 1, 64UL << 20, [vcpu], vm, [new DeviceSection("uart0", 1, [4, 5]), new DeviceSection("virtio-blk0", 3, [6])]);
    }

    [Fact]
    public void Round_trips_every_field()
    {
        var s = Sample();
        var back = MachineSnapshot.FromBytes(s.ToBytes());
        Assert.Equal((s.Backend, s.VcpuCount, s.MemoryBytes), (back.Backend, back.VcpuCount, back.MemoryBytes));
        var v = Assert.Single(back.Vcpus);
        Assert.Equal(s.Vcpus[0].Registers, v.Registers);
        Assert.Equal(s.Vcpus[0].SpecialRegisters, v.SpecialRegisters);
        Assert.Equal(s.Vcpus[0].Msrs, v.Msrs);
        Assert.Equal(s.Vcpus[0].Blobs, v.Blobs);
        Assert.Equal((1, BackendKind.Kvm), (v.Id, v.Backend));
        Assert.Equal(s.Vm.Blobs, back.Vm.Blobs);
        Assert.Equal(s.Devices.Select(d => (d.Name, d.Version, Convert.ToHexString(d.Data))), back.Devices.Select(d => (d.Name, d.Version, Convert.ToHexString(d.Data))));
        Assert.Equal(s.ToBytes(), back.ToBytes());
    }

    [Fact]
    public void Refuses_bytes_that_are_not_a_snapshot()
    {
        Assert.Contains("bad magic", Assert.Throws<VmmException>(() => MachineSnapshot.FromBytes("nope, not it"u8)).Message);
    }

    [Fact]
    public void Refuses_a_truncated_snapshot()
    {
        var bytes = Sample().ToBytes();
        Assert.Contains("truncated", Assert.Throws<VmmException>(() => MachineSnapshot.FromBytes(bytes.AsSpan(0, bytes.Length - 3))).Message);
    }

    [Fact]
    public void Refuses_a_snapshot_of_an_older_vmm_naming_both_versions()
    {
        var bytes = Sample().ToBytes();
        bytes[4] = 1;
        var message = Assert.Throws<VmmException>(() => MachineSnapshot.FromBytes(bytes)).Message;
        Assert.Contains("version 1", message);
        Assert.Contains($"version {MachineSnapshotCodec.Version}", message);
        Assert.Contains("older", message);
    }

    [Fact]
    public void Refuses_a_snapshot_of_a_newer_vmm_naming_both_versions()
    {
        var bytes = Sample().ToBytes();
        bytes[4] = 9;
        var message = Assert.Throws<VmmException>(() => MachineSnapshot.FromBytes(bytes)).Message;
        Assert.Contains("version 9", message);
        Assert.Contains($"version {MachineSnapshotCodec.Version}", message);
    }
}
