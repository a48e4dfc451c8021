namespace Cluster.Actors.Tests.TestUtils;

/// <summary>A fact that needs root (it mounts a file system); skipped with the reason elsewhere.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root")
            Skip = $"needs root to mount a tmpfs (this test runs as {Environment.UserName})";
    }
}
