namespace Cluster.Node.Tests.TestUtils;

/// <summary>A packaging fact that also needs <c>systemd-analyze</c>; skipped with the reason where it is missing.</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    /// <summary>Debian's systemd-analyze (package systemd; it checks unit files without systemd running).</summary>
    public const string Tool = "/usr/bin/systemd-analyze";

    public SystemdAnalyzeFactAttribute()
    {
        if (!PackagingFactAttribute.Available) Skip = "dpkg-deb is not installed (apt-get install dpkg): the package cannot be built";
        else if (!File.Exists(Tool)) Skip = $"{Tool} is not installed (apt-get install systemd): the unit cannot be verified";
    }
}
