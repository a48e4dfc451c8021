using System.Buffers.Binary;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>
/// Counts and lengths read from a migration peer, a snapshot or a worker are checked before anything is allocated or
/// looped over: crafted bytes (truncated, huge counts) end in the decoder's protocol error, never a huge loop or allocation.
/// </summary>
public class DecoderBoundsTests
{
    private const ulong GuestPages = (32UL << 20) / 4096;

    private static byte[] Runs(params (ulong Gpa, ulong Pages)[] runs)
    {
        var bytes = new byte[runs.Length * 16];
        for (int i = 0; i < runs.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 16), runs[i].Gpa);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 16 + 8), runs[i].Pages);
        }
        return bytes;
    }

    private static VmmException RunsRefused(List<(ulong, ulong)> runs, byte[] payload)
    {
        var e = Assert.Throws<VmmException>(() => PostCopyArrival.ReadRuns(payload, runs, GuestPages));
        Assert.Equal("migration-protocol", e.Operation);
        return e;
    }

    [Fact]
    public void Post_copy_runs_within_the_guest_are_read_across_frames()
    {
        var runs = new List<(ulong, ulong)>();
        PostCopyArrival.ReadRuns(Runs((0, 10), (0x100000, 100)), runs, GuestPages);
        PostCopyArrival.ReadRuns([], runs, GuestPages);
        PostCopyArrival.ReadRuns(Runs((0x200000, GuestPages - 110)), runs, GuestPages);
        Assert.Equal([(0UL, 10UL), (0x100000UL, 100UL), (0x200000UL, GuestPages - 110)], runs);
    }

    [Fact]
    public void A_post_copy_run_of_a_huge_page_count_is_a_protocol_error()
    {
        Assert.Contains("more than the guest's 8192 pages", RunsRefused([], Runs((0, ulong.MaxValue))).Message);
        Assert.Contains("more than the guest's", RunsRefused([], Runs((0, GuestPages + 1))).Message);
    }

    [Fact]
    public void Post_copy_runs_that_add_up_past_the_guest_over_several_frames_are_a_protocol_error()
    {
        var runs = new List<(ulong, ulong)>();
        PostCopyArrival.ReadRuns(Runs((0, GuestPages - 1)), runs, GuestPages);
        RunsRefused(runs, Runs((0, 1), (0, 1)));
        // Many frames of one-page runs cannot grow the list past the guest's pages either.
        var many = new List<(ulong, ulong)>();
        var frame = Runs([.. Enumerable.Repeat((0UL, 1UL), 4096)]);
        PostCopyArrival.ReadRuns(frame, many, GuestPages);
        PostCopyArrival.ReadRuns(frame, many, GuestPages);
        RunsRefused(many, frame);
        Assert.True((ulong)many.Count <= GuestPages + 4096);
    }

    [Fact]
    public void Truncated_empty_and_unaligned_post_copy_runs_are_protocol_errors()
    {
        Assert.Contains("not a whole number of runs", RunsRefused([], new byte[15]).Message);
        Assert.Contains("empty or not page-aligned", RunsRefused([], Runs((0, 0))).Message);
        Assert.Contains("empty or not page-aligned", RunsRefused([], Runs((0x123, 1))).Message);
    }

    private static MigrationHello Hello(int connections = 2, int vcpus = 2, ulong memory = 32UL << 20) =>
        new(MigrationProtocol.Version, 42, connections, BackendKind.Emulated, new EmulatedHypervisor().CpuModel,
            new MachineConfig { Vcpus = vcpus, MemoryBytes = memory, Image = new BuiltInGuestImage("counter"), Args = ["5"] });

    [Theory]
    [InlineData(0, 2, 32UL << 20, "connections")]
    [InlineData(int.MaxValue, 2, 32UL << 20, "connections")]
    [InlineData(2, int.MaxValue, 32UL << 20, "vCPUs")]
    [InlineData(2, -1, 32UL << 20, "vCPUs")]
    [InlineData(2, 2, ulong.MaxValue, "bytes of memory")]
    public void A_hello_with_an_absurd_count_is_refused_when_read(int connections, int vcpus, ulong memory, string what)
    {
        var bytes = Hello(connections, vcpus, memory).ToBytes();
        var e = Assert.Throws<VmmException>(() => MigrationHello.FromBytes(bytes));
        Assert.Equal("migration-hello", e.Operation);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Every_truncation_of_a_hello_is_refused_as_such()
    {
        var bytes = Hello().ToBytes();
        Assert.Equal(2, MigrationHello.FromBytes(bytes).Config.Vcpus);
        for (int n = 0; n < bytes.Length; n++)
            Assert.Equal("migration-hello", Assert.Throws<VmmException>(() => MigrationHello.FromBytes(bytes.AsSpan(0, n))).Operation);
    }

    private static byte[] Snapshot(int vcpuCount = 1, ulong memory = 2UL << 20, int states = 1) =>
        new MachineSnapshot(BackendKind.Emulated, vcpuCount, memory,
            [.. Enumerable.Range(0, states).Select(i => new VcpuState
            {
                Backend = BackendKind.Emulated, Id = i, Registers = new Registers(), SpecialRegisters = new SpecialRegisters(), Msrs = [],
            })],
            new VmState { Backend = BackendKind.Emulated, Blobs = { ["pic"] = [1, 2, 3] } },
            [new DeviceSection("uart", 1, [4, 5])]).ToBytes();

    [Fact]
    public void A_snapshot_with_absurd_vcpu_or_memory_counts_is_refused()
    {
        Assert.Equal(1, MachineSnapshotCodec.Decode(Snapshot()).VcpuCount);
        Assert.Contains("absurd count of 1073741824 vCPUs", Assert.Throws<VmmException>(() => MachineSnapshotCodec.Decode(Snapshot(vcpuCount: 1 << 30))).Message);
        Assert.Contains("bytes of memory", Assert.Throws<VmmException>(() => MachineSnapshotCodec.Decode(Snapshot(memory: ulong.MaxValue))).Message);
        Assert.Contains("3 vCPU states for 2 vCPUs", Assert.Throws<VmmException>(() => MachineSnapshotCodec.Decode(Snapshot(vcpuCount: 2, states: 3))).Message);
    }

    [Fact]
    public void A_snapshot_whose_counts_are_patched_huge_or_that_is_truncated_is_refused_as_a_snapshot_error()
    {
        var bytes = Snapshot();
        // The vCPU-state count follows magic, version, backend, vCPU count and memory size.
        var patched = (byte[])bytes.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(patched.AsSpan(24), int.MaxValue);
        Assert.Equal("snapshot-decode", Assert.Throws<VmmException>(() => MachineSnapshotCodec.Decode(patched)).Operation);
        for (int n = 0; n < bytes.Length; n++)
            Assert.Equal("snapshot-decode", Assert.Throws<VmmException>(() => MachineSnapshotCodec.Decode(bytes.AsSpan(0, n))).Operation);
    }

    [Theory]
    [InlineData(int.MaxValue, 32UL << 20)]
    [InlineData(0, 32UL << 20)]
    [InlineData(1, ulong.MaxValue)]
    public void A_worker_machine_config_with_absurd_counts_is_a_worker_protocol_error(int vcpus, ulong memory)
    {
        var config = new MachineConfig { Vcpus = vcpus, MemoryBytes = memory, Image = new BuiltInGuestImage("hello") };
        var bytes = WorkerCodec.Encode(w => w.Write(config));
        Assert.Equal("worker-protocol", Assert.Throws<VmmException>(() => WorkerCodec.Decode(bytes, r => r.ReadMachineConfig())).Operation);
    }
}
