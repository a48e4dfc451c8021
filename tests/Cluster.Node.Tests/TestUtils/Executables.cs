using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>Finds the built cluster-node and vmctl assemblies in their own output folders (same configuration as the tests).</summary>
public static class Executables
{
    public static string NodeDll => Find("Cluster.Node", "cluster-node.dll");

    public static string VmctlDll => Find("Cluster.Vmctl", "vmctl.dll");

    /// <summary>The NativeAOT worker cluster-node's build publishes (vmm-worker-aot/vmm-worker); null where it was not built.</summary>
    public static string? AotWorker => WorkerLauncher.AotWorker(Path.GetDirectoryName(NodeDll)!) is [var exe] ? exe : null;

    private static string Find(string project, string dll)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cluster.sln")))
            root = root.Parent;
        if (root is null)
            throw new InvalidOperationException($"no Cluster.sln above {AppContext.BaseDirectory}");
        var path = Path.Combine(root.FullName, "src", project, "bin", configuration, framework, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} is not built", path);
    }
}
