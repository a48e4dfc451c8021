using System.Text;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Machine;

public class MachineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static (VmMachine Machine, FakeVm Vm) Create(int vcpus = 1, params string[] args)
    {
        var hv = new FakeHypervisor();
        var machine = VmMachine.Create(hv, new MachineConfig { Vcpus = vcpus, MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage("hello"), Args = args });
        return (machine, hv.Vms.Single());
    }

    private static FakeVcpu Fake(VmMachine m, int id) => (FakeVcpu)m.Vcpus[id].Vcpu;

    private static MachineExit RunToExit(VmMachine m)
    {
        var exits = new List<MachineExit>();
        m.Exited += e => { lock (exits) exits.Add(e); };
        m.Start();
        Assert.True(m.WaitForExit(Timeout));
        lock (exits) return Assert.Single(exits);
    }

    [Fact]
    public void Create_loads_the_image_and_gives_every_vcpu_its_entry_registers()
    {
        var (m, vm) = Create(2, "a", "b");
        using var _ = m;
        var elf = File.ReadAllBytes(BuiltInGuests.Find("hello"));
        ulong entry = BitConverter.ToUInt64(elf, 24);
        ulong offset = BitConverter.ToUInt64(elf, 64 + 8);
        var loaded = new byte[64];
        m.Memory.Read(entry, loaded);
        Assert.Equal(elf.AsSpan((int)offset, 64).ToArray(), loaded);

        for (int id = 0; id < 2; id++)
        {
            var v = Fake(m, id);
            Assert.Equal((entry, 2UL, GuestLayout.ArgsAddress, (ulong)id, 2UL), (v.Registers.Rip, v.Registers.Rdi, v.Registers.Rsi, v.Registers.Rdx, v.Registers.Rcx));
            Assert.Equal(GuestLayout.StackTop(id), v.Registers.Rsp);
            Assert.Equal(GuestLayout.Pml4Address, v.SpecialRegisters.Cr3);
            Assert.Equal(id != 0, v.MadeRunnable);
        }
        Assert.Equal(16UL << 20, m.Memory.TotalSize);
        Assert.False(m.Memory.GetSlot(0).LogDirty);
        Assert.Equal(MachineRunState.Created, m.State);
        Assert.Same(vm, m.Vm);
    }

    [Fact]
    public void A_write_to_the_exit_device_ends_the_machine_with_the_guest_status()
    {
        var (m, _) = Create(2);
        using var _ = m;
        Fake(m, 1).Enqueue(VcpuExit.IoOut(0xf4, 4, 7));
        var exit = RunToExit(m);
        Assert.Equal(new MachineExit(MachineExitKind.GuestExit, 7, exit.Reason, 1), exit);
        Assert.All(m.Vcpus, v => Assert.Equal(VcpuRunState.Finished, v.State));
        Assert.Equal(MachineRunState.Finished, m.State);
        Assert.Equal(exit, m.Exit);
    }

    [Fact]
    public void Serial_output_reaches_subscribers_before_the_machine_exits()
    {
        var (m, _) = Create();
        using var _ = m;
        var output = new StringBuilder();
        m.Serial.Output += b => output.Append(Encoding.ASCII.GetString(b));
        Fake(m, 0).Enqueue([.. "hi\nthere".Select(c => VcpuExit.IoOut(0x3f8, 1, c)), VcpuExit.Hlt]);
        var exit = RunToExit(m);
        Assert.Equal(MachineExitKind.Halted, exit.Kind);
        Assert.Equal("hi\nthere", output.ToString());
    }

    [Fact]
    public void A_shutdown_ends_the_machine_as_a_shutdown()
    {
        var (m, _) = Create(2);
        using var _ = m;
        Fake(m, 0).Enqueue(VcpuExit.Shutdown("triple fault"));
        var exit = RunToExit(m);
        Assert.Equal(MachineExitKind.Shutdown, exit.Kind);
        Assert.Equal(0, exit.VcpuId);
    }

    [Fact]
    public void Pause_parks_every_vcpu_and_resume_and_stop_follow()
    {
        var (m, _) = Create(3);
        using var _ = m;
        var exits = new List<MachineExit>();
        m.Exited += exits.Add;
        m.Start();
        Assert.All(m.Vcpus, v => Assert.True(Fake(m, v.Id).Idle.Wait(Timeout)));

        m.Pause();
        Assert.Equal(MachineRunState.Paused, m.State);
        Assert.All(m.Vcpus, v => Assert.Equal(VcpuRunState.Paused, v.State));
        Assert.All(m.Vcpus, v => Assert.False(Fake(m, v.Id).InRun));
        Assert.Throws<VmmException>(m.Pause);

        m.Resume();
        Assert.Equal(MachineRunState.Running, m.State);
        Assert.All(m.Vcpus, v => Assert.Equal(VcpuRunState.Running, v.State));
        Assert.Throws<VmmException>(m.Resume);

        m.Stop();
        Assert.Equal(MachineRunState.Finished, m.State);
        Assert.Equal(MachineExitKind.Stopped, Assert.Single(exits).Kind);
    }

    [Fact]
    public void Saved_state_restores_into_a_fresh_machine_through_bytes()
    {
        var (m, _) = Create(2);
        using var _ = m;
        m.Start();
        Assert.True(Fake(m, 1).Idle.Wait(Timeout));
        m.Pause();
        m.Serial.Write(7, 1, 0x5c);
        Fake(m, 1).Registers.Rax = 0x1234;
        var bytes = m.SaveState().ToBytes();

        var (copy, copyVm) = Create(2);
        using var __ = copy;
        copy.RestoreState(MachineSnapshot.FromBytes(bytes));

        Assert.Equal(0x1234UL, Fake(copy, 1).Registers.Rax);
        Assert.Equal(Fake(m, 0).Registers.Rip, Fake(copy, 0).Registers.Rip);
        Assert.Equal([1, 2, 3], copyVm.Restored!.Blobs["pic"]);
        Assert.Equal(0x5cUL, copy.Serial.Read(7, 1));
    }

    [Fact]
    public void Save_state_refuses_a_running_machine_and_restore_one_that_differs()
    {
        var (m, _) = Create(2);
        using var _ = m;
        var snapshot = m.SaveState();
        m.Start();
        Assert.Contains("pause it first", Assert.Throws<VmmException>(m.SaveState).Message);

        var (other, _) = Create(1);
        using var __ = other;
        Assert.Contains("vCPUs", Assert.Throws<VmmException>(() => other.RestoreState(snapshot)).Message);
        Assert.Contains("Running", Assert.Throws<VmmException>(() => m.RestoreState(snapshot)).Message);
    }

    [Fact]
    public void Dirty_logging_toggles_on_every_slot()
    {
        var (m, _) = Create();
        using var _ = m;
        m.EnableDirtyLogging(true);
        Assert.All(m.Memory.Slots, s => Assert.True(s.LogDirty));
        m.Memory.WriteU8(0x300000, 1);
        Assert.Equal([0x300000UL >> 12], m.Vm.GetDirtyLog(0).DirtyPages());
        m.EnableDirtyLogging(false);
        Assert.All(m.Memory.Slots, s => Assert.False(s.LogDirty));
    }

    [Fact]
    public void The_serial_interrupt_drives_isa_line_4()
    {
        var (m, vm) = Create();
        using var _ = m;
        m.Serial.Write(1, 1, 0x02);
        m.Serial.Write(1, 1, 0x00);
        Assert.Equal([(4, true), (4, false)], vm.IrqChanges);
    }

    [Theory]
    [InlineData(0, 16UL << 20, "vCPUs requested")]
    [InlineData(9, 16UL << 20, "vCPUs requested")]
    [InlineData(1, 1UL << 20, "between")]
    [InlineData(1, (16UL << 20) + 1, "multiple of 4 KiB")]
    public void Create_refuses_a_bad_shape(int vcpus, ulong memory, string message)
    {
        var hv = new FakeHypervisor();
        var e = Assert.Throws<VmmException>(() => VmMachine.Create(hv, new MachineConfig { Vcpus = vcpus, MemoryBytes = memory, Image = new BuiltInGuestImage("hello") }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Create_refuses_linux_images_and_unknown_guests_and_releases_the_vm()
    {
        var hv = new FakeHypervisor();
        var linux = Assert.Throws<VmmException>(() => VmMachine.Create(hv, new MachineConfig { Image = new LinuxGuestImage("/boot/vmlinuz", null, "console=ttyS0") }));
        Assert.Equal("Linux direct boot is supported on the KVM backend only", linux.Message);
        var missing = Assert.Throws<VmmException>(() => VmMachine.Create(hv, new MachineConfig { Image = new BuiltInGuestImage("nope") }));
        Assert.Contains("available: ", missing.Message);
        Assert.All(hv.Vms, vm => Assert.True(vm.Disposed));
    }
}
