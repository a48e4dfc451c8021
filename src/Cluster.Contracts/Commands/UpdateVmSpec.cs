using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Commands;

/// <summary>
/// Replaces the spec of an existing VM with <paramref name="Spec"/> (<c>vmctl apply -f</c>), validated like a create.
/// Allowed only while the VM does not run (Defined, Stopped or Crashed): the new spec takes effect at the next start.
/// Its NICs cannot change (their MACs and addresses were assigned at create time): refused as not updatable. A spec
/// equal to the current one is accepted without an event. Answered with <see cref="Replies.VmCommandAccepted"/>,
/// <see cref="Replies.NotAllowed"/>, <see cref="Replies.VmNotFound"/> or <see cref="Replies.ValidationFailed"/>.
/// </summary>
[MessagePackObject]
public sealed record UpdateVmSpec([property: Key(0)] VmSpec Spec) : IVmCommand
{
    [IgnoreMember]
    public string VmId => Spec.Id;
}
