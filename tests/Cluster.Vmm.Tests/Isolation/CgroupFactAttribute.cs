using Cluster.Vmm.Isolation;
using Xunit;

namespace Cluster.Vmm.Tests.Isolation;

/// <summary>
/// A fact that needs real, writable cgroups (root on a machine with the memory, cpu and pids controllers);
/// elsewhere it is reported as skipped with the reason <see cref="CgroupSupport.Detect()"/> found.
/// </summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() => CgroupSupport.Detect().UnavailableReason);

    public CgroupFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = $"cgroups unavailable: {reason}";
    }

    /// <summary>A program the test runs; the test is skipped where it is not installed.</summary>
    public string? Needs
    {
        get;
        set
        {
            field = value;
            if (Skip is null && value is not null && !File.Exists(value)) Skip = $"{value} is not installed";
        }
    }
}
