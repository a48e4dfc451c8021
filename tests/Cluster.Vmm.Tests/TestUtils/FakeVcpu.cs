using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>
/// A scripted vCPU: Run returns the queued exits in order, and with none queued blocks (like a
/// guest computing) until Kick, which makes it return Interrupted. Records what the VMM did.
/// </summary>
internal sealed class FakeVcpu(int id) : IVcpu
{
    private readonly object _gate = new();
    private readonly Queue<VcpuExit> _script = new();
    private bool _kicked;
    private int _inRun;

    public int Id { get; } = id;
    public Registers Registers;
    public SpecialRegisters SpecialRegisters;
    public List<ulong> CompletedReads { get; } = [];
    public bool InRun => Volatile.Read(ref _inRun) != 0;
    public int RunCalls;
    public bool Disposed;

    /// <summary>Set while Run is blocked waiting for work or a kick.</summary>
    public ManualResetEventSlim Idle { get; } = new(false);

    public void Enqueue(params VcpuExit[] exits)
    {
        lock (_gate)
        {
            foreach (var e in exits) _script.Enqueue(e);
            Monitor.PulseAll(_gate);
        }
    }

    public VcpuExit Run()
    {
        lock (_gate)
        {
            Interlocked.Increment(ref RunCalls);
            Volatile.Write(ref _inRun, 1);
            try
            {
                while (true)
                {
                    if (_kicked)
                    {
                        _kicked = false;
                        return VcpuExit.Interrupted;
                    }
                    if (_script.Count > 0) return _script.Dequeue();
                    Idle.Set();
                    Monitor.Wait(_gate);
                    Idle.Reset();
                }
            }
            finally
            {
                Volatile.Write(ref _inRun, 0);
            }
        }
    }

    public void CompleteRead(ulong value) => CompletedReads.Add(value);

    public void Kick()
    {
        lock (_gate)
        {
            _kicked = true;
            Monitor.PulseAll(_gate);
        }
    }

    public Registers GetRegisters() => Registers;
    public void SetRegisters(in Registers registers) => Registers = registers;
    public SpecialRegisters GetSpecialRegisters() => SpecialRegisters;
    public void SetSpecialRegisters(in SpecialRegisters registers) => SpecialRegisters = registers;
    public void GetMsrs(Span<MsrEntry> entries) { }
    public void SetMsrs(ReadOnlySpan<MsrEntry> entries) { }
    public IReadOnlyList<uint> SupportedMsrs => [Msr.Efer];

    public VcpuState SaveState() => new()
    {
        Backend = BackendKind.Emulated,
        Id = Id,
        Registers = Registers,
        SpecialRegisters = SpecialRegisters,
        Msrs = [new MsrEntry(Msr.Efer, SpecialRegisters.Efer)],
        Blobs = { ["fake"] = [(byte)Id, 42] },
    };

    public void RestoreState(VcpuState state)
    {
        Registers = state.Registers;
        SpecialRegisters = state.SpecialRegisters;
    }

    public TimeSpan GuestTime => TimeSpan.Zero;

    public bool MadeRunnable { get; private set; }

    public void MakeRunnable() => MadeRunnable = true;

    public void Dispose() => Disposed = true;
}
