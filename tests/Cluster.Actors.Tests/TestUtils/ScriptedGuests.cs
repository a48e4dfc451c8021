using System.Collections.Concurrent;
using System.Text;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Machine;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>
/// A guest runtime for actor tests that need no VMM: "hello" prints a line and keeps running,
/// "echo" writes back what it is typed, "triple" fails right after start as a triple fault would,
/// "exit0" ends cleanly. Every guest created is kept so a test can inspect it.
/// </summary>
public sealed class ScriptedGuests : IGuestRuntimeFactory
{
    public ConcurrentQueue<ScriptedGuest> Created { get; } = new();

    public IReadOnlySet<string> BuiltInImages { get; } = new HashSet<string> { "hello", "echo", "triple", "exit0" };

    public int MaxVcpus => 8;

    public IGuestRuntime Create(VmSpec spec)
    {
        var guest = new ScriptedGuest(((BuiltInImage)spec.Image).Name);
        Created.Enqueue(guest);
        return guest;
    }
}

/// <summary>One scripted guest; see <see cref="ScriptedGuests"/>.</summary>
public sealed class ScriptedGuest(string image) : IGuestRuntime
{
    private int _exited;

    public event Action<GuestExit>? Exited;

    public event Action<byte[]>? SerialOutput;

    public event Action? PermitLapsed;

    public string State { get; private set; } = "created";

    /// <summary>How often the owner let the guest run again after a lapsed permit.</summary>
    public int ResumesAfterLapse => Volatile.Read(ref _resumesAfterLapse);

    private int _resumesAfterLapse;

    /// <summary>Plays a lapsed run permit: the guest is paused, and the owner is told.</summary>
    public void Lapse()
    {
        State = "paused (permit lapsed)";
        PermitLapsed?.Invoke();
    }

    public void ResumeAfterLapse()
    {
        Interlocked.Increment(ref _resumesAfterLapse);
        State = "running";
    }

    /// <summary>When the runtime was created (a boot or restart asked for it).</summary>
    public DateTime CreatedAt { get; } = DateTime.UtcNow;

    public bool Disposed { get; private set; }

    public void Start()
    {
        State = "running";
        var output = SerialOutput;
        Task.Run(() =>
        {
            output?.Invoke(Encoding.ASCII.GetBytes($"{image} started\n"));
            if (image == "triple")
                Exit(new GuestExit(true, "shutdown (triple fault)"));
            else if (image == "exit0")
                Exit(new GuestExit(false, "guest exited with status 0"));
        });
    }

    public void Pause() => State = "paused";

    public void Resume() => State = "running";

    public void Stop()
    {
        State = "stopped";
        Exit(new GuestExit(false, "stopped"));
    }

    public MachineSnapshot SaveState() => throw new VmmException("a scripted guest has no machine state", "machine-save");

    public TimeSpan GuestTime => TimeSpan.Zero;

    public void SendSerialInput(byte[] data)
    {
        if (image == "echo")
            SerialOutput?.Invoke(data);
    }

    public void Dispose() => Disposed = true;

    /// <summary>Whether <see cref="Detach"/> reports the guest running on (a VMM worker's) instead of stopping it (in-process).</summary>
    public bool DetachKeepsRunning { get; set; }

    public bool Detach()
    {
        if (DetachKeepsRunning)
            return true;
        Stop();
        Dispose();
        return false;
    }

    private void Exit(GuestExit exit)
    {
        if (Interlocked.Exchange(ref _exited, 1) == 0)
            Exited?.Invoke(exit);
    }
}
