using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Vms;

/// <summary>What <see cref="VmState.Decide"/> concluded: events to persist, or a refusal to send back.</summary>
public sealed record VmDecision(IReadOnlyList<VmEvent> Events, IVmReply? Refusal)
{
    /// <summary>Nothing to do and nothing to refuse.</summary>
    public static VmDecision None { get; } = new([], null);

    public static VmDecision Accept(params VmEvent[] events) => new(events, null);

    public static VmDecision Refuse(IVmReply reply) => new([], reply);
}
