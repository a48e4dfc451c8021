using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerLauncherTests
{
    [Fact]
    public void The_published_worker_is_used_only_where_its_dll_and_runtimeconfig_are()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"launcher-{Guid.NewGuid():N}");
        var worker = Path.Combine(dir, WorkerLauncher.PublishedWorkerFolder);
        Directory.CreateDirectory(worker);
        try
        {
            Assert.Null(WorkerLauncher.PublishedWorker(dir));
            File.WriteAllText(Path.Combine(worker, "vmm-worker.dll"), "");
            Assert.Null(WorkerLauncher.PublishedWorker(dir));
            File.WriteAllText(Path.Combine(worker, "vmm-worker.runtimeconfig.json"), "{}");
            var command = WorkerLauncher.PublishedWorker(dir);
            Assert.NotNull(command);
            // No apphost here: dotnet (this process's, or the one on the PATH) runs the dll.
            Assert.Equal(2, command.Count);
            Assert.Equal(Path.Combine(worker, "vmm-worker.dll"), command[1]);
            Assert.Equal("dotnet", Path.GetFileNameWithoutExtension(command[0]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Nodes_prefer_the_native_worker_and_fall_back_down_the_order_saying_why_when_one_is_missing()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"launcher-{Guid.NewGuid():N}");
        var r2r = Path.Combine(dir, WorkerLauncher.PublishedWorkerFolder);
        var aot = Path.Combine(dir, WorkerLauncher.AotWorkerFolder, "vmm-worker");
        Directory.CreateDirectory(r2r);
        Directory.CreateDirectory(Path.GetDirectoryName(aot)!);
        try
        {
            File.WriteAllText(Path.Combine(r2r, "vmm-worker.dll"), "");
            File.WriteAllText(Path.Combine(r2r, "vmm-worker.runtimeconfig.json"), "{}");
            // No native worker: auto and aot take the ReadyToRun one, and the note says what was missing.
            var command = WorkerPrograms.Choose(dir, null, out var note);
            Assert.Equal(Path.Combine(r2r, "vmm-worker.dll"), command[^1]);
            Assert.Contains("ReadyToRun", note);
            Assert.Contains("no NativeAOT worker", note);
            Assert.Equal(command, WorkerPrograms.Choose(dir, "aot", out note));
            Assert.Contains("CLUSTER_VMM_WORKER=aot", note);

            // A native worker that is not executable does not count; one that is comes first.
            File.WriteAllText(aot, "");
            Assert.Equal(command, WorkerPrograms.Choose(dir, "", out _));
            File.SetUnixFileMode(aot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Assert.Equal([aot], WorkerPrograms.Choose(dir, null, out note));
            Assert.Contains("NativeAOT", note);
            Assert.Equal([aot], WorkerPrograms.Choose(dir, "bogus", out note));
            Assert.Contains("CLUSTER_VMM_WORKER=bogus is not auto", note);

            // Asked for by name, the others are passed over.
            Assert.Equal(command, WorkerPrograms.Choose(dir, "ReadyToRun", out note));
            Assert.Equal(WorkerLauncher.CurrentCommand(), WorkerPrograms.Choose(dir, "node", out note));
            Assert.Contains("CLUSTER_VMM_WORKER=node", note);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
