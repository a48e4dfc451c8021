using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Commands;

/// <summary>A lifecycle command for one VM; answered with an <see cref="Replies.IVmReply"/>.</summary>
public interface IVmCommand : IWithVmId;

/// <summary>Defines a new VM from <paramref name="Spec"/>; refused when the id exists or the spec is invalid.</summary>
[MessagePackObject]
public sealed record CreateVm([property: Key(0)] VmSpec Spec) : IVmCommand
{
    [IgnoreMember]
    public string VmId => Spec.Id;
}

/// <summary>Boots a defined, stopped or crashed VM (a cold boot).</summary>
[MessagePackObject]
public sealed record StartVm([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Pauses the vCPUs of a running VM.</summary>
[MessagePackObject]
public sealed record PauseVm([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Resumes the vCPUs of a paused VM.</summary>
[MessagePackObject]
public sealed record ResumeVm([property: Key(0)] string VmId) : IVmCommand;

/// <summary>How a stop treats the guest.</summary>
public enum StopMode
{
    /// <summary>Pause the vCPUs at an instruction boundary, then release the VM.</summary>
    Graceful = 0,
    /// <summary>Tear the VM down at once.</summary>
    Forced = 1,
}

/// <summary>Stops a running or paused VM; its spec stays, so it can be started again.</summary>
[MessagePackObject]
public sealed record StopVm([property: Key(0)] string VmId, [property: Key(1)] StopMode Mode) : IVmCommand;

/// <summary>Deletes a VM that is not running; its id becomes free.</summary>
[MessagePackObject]
public sealed record DeleteVm([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Asks for the <see cref="Replies.VmInfo"/> of one VM.</summary>
[MessagePackObject]
public sealed record GetVm([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Asks for the recorded lifecycle events of one VM, oldest first.</summary>
[MessagePackObject]
public sealed record GetVmEvents([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Asks the node for all its VMs; answered with <see cref="Replies.VmList"/>.</summary>
public sealed class ListVms : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static ListVms Instance { get; } = new();

    private ListVms()
    {
    }
}
