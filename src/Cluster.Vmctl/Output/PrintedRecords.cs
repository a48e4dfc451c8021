using Cluster.Contracts.Access;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Vmctl.Output;

// What -o json|yaml prints where no view or contract fits: named records (source-generated JSON has no anonymous types),
// field for field what the anonymous objects they replace printed.

/// <summary>A refusal: the reply's type and the message.</summary>
public sealed record ErrorOutput(string Error, string Message);

/// <summary>An access denial: its reason and message.</summary>
public sealed record DeniedOutput(string Error, string Reason, string Message);

/// <summary>A new token, shown this once.</summary>
public sealed record NewTokenOutput(string Id, string Name, Role Role, DateTime? ExpiresAt, string Token);

/// <summary>Console bytes as text.</summary>
public sealed record ConsoleText(string VmId, string Text);

/// <summary>What apply did to one VM (created, updated, unchanged).</summary>
public sealed record ApplyOutcome(string Id, string Action);

/// <summary>How a followed drain ended: the VMs that could not leave, with why.</summary>
public sealed record DrainOutcome(string Host, bool Drained, IReadOnlyDictionary<string, string> Stuck);

/// <summary>One context of the config file (a token in the file is never printed).</summary>
public sealed record ContextRow(string Name, bool Current, string? Server, string? CaCert, string? TokenFile, string? Token);

/// <summary>One refresh of <c>vmctl top -o json</c>.</summary>
public sealed record TopOutput(
    DateTime At, List<HostView>? Hosts, List<VmView>? Vms, List<MigrationView>? Migrations, RebalanceStatus? Rebalance, IReadOnlyList<string> Errors);
