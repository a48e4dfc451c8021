namespace Cluster.Node.Tests.TestUtils;

/// <summary>A fact about the Debian package; skipped with the reason where dpkg-deb is not installed.</summary>
public sealed class PackagingFactAttribute : FactAttribute
{
    /// <summary>Whether dpkg-deb is at hand.</summary>
    public static bool Available => File.Exists("/usr/bin/dpkg-deb");

    public PackagingFactAttribute()
    {
        if (!Available) Skip = "dpkg-deb is not installed (apt-get install dpkg): the package cannot be built";
    }
}
