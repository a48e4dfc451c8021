namespace Cluster.Contracts.Validation;

/// <summary>What a node accepts: the bounds that <see cref="VmSpecValidator"/> checks specs against.</summary>
/// <param name="MaxVcpus">The most vCPUs one VM may have.</param>
/// <param name="MinMemoryBytes">The least guest RAM.</param>
/// <param name="MaxMemoryBytes">The most guest RAM.</param>
/// <param name="BuiltInImages">Names of the guests compiled into the VMM.</param>
public sealed record VmSpecLimits(int MaxVcpus, ulong MinMemoryBytes, ulong MaxMemoryBytes, IReadOnlySet<string> BuiltInImages)
{
    /// <summary>The most restarts a restart policy may allow.</summary>
    public int MaxRestarts { get; init; } = 1000;

    /// <summary>The most arguments and labels a spec may carry.</summary>
    public int MaxListEntries { get; init; } = 64;

    /// <summary>The most disks a VM may have.</summary>
    public int MaxDisks { get; init; } = VmSpecValidator.DefaultMaxDisks;
}
