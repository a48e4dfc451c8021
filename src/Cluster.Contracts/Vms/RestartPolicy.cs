using MessagePack;

namespace Cluster.Contracts.Vms;

/// <summary>When a VM whose guest ended on its own is booted again.</summary>
public enum RestartMode
{
    /// <summary>Never restart; a crash leaves the VM crashed.</summary>
    Never = 0,
    /// <summary>Restart after a crash (triple fault, internal error, non-zero exit status).</summary>
    OnFailure = 1,
    /// <summary>Restart whenever the guest ends, even cleanly.</summary>
    Always = 2,
}

/// <summary>The restart policy of a VM: a mode and how many restarts are allowed in total.</summary>
[MessagePackObject]
public sealed record RestartPolicy(
    [property: Key(0)] RestartMode Mode,
    [property: Key(1)] int MaxRestarts) : IClusterMessage
{
    /// <summary>No restarts.</summary>
    public static RestartPolicy Never { get; } = new(RestartMode.Never, 0);
}
