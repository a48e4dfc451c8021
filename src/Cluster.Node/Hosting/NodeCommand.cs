using System.Runtime.InteropServices;
using Cluster.Actors.Hosting;
using Cluster.Vmm;

namespace Cluster.Node.Hosting;

/// <summary><c>cluster-node run</c>: hosts a node until SIGINT or SIGTERM.</summary>
public static class NodeCommand
{
    /// <summary>Runs the node with the arguments after "run"; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.Out.WriteLine(NodeOptions.Usage);
            return 0;
        }
        var options = NodeOptions.Parse(args, out var error);
        if (options is null)
        {
            Console.Error.WriteLine($"cluster-node run: {error}");
            Console.Error.WriteLine(NodeOptions.Usage);
            return 2;
        }
        NodeHost host;
        try
        {
            host = NodeHost.Start(options, HypervisorConfig.DefaultHoconDirectory);
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException or Akka.Configuration.ConfigurationException)
        {
            Console.Error.WriteLine($"cluster-node run: cannot start: {e.Message}");
            return 1;
        }
        using (host)
        {
            Http.HttpApi? http = null;
            if (options.Http is not null)
            {
                try
                {
                    http = Http.HttpApi.StartAsync(options.Http, host.Manager).GetAwaiter().GetResult();
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"cluster-node run: cannot serve HTTP on {options.Http}: {e.Message}");
                    return 1;
                }
                Console.Out.WriteLine($"http api at http://{options.Http}/api");
            }
            var stop = new ManualResetEventSlim();
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
            Console.Out.WriteLine($"backend: {host.BackendReason}");
            Console.Out.WriteLine($"node ready at {host.Address}");
            Console.Out.Flush();
            WaitHandle.WaitAny([stop.WaitHandle, ((IAsyncResult)host.System.WhenTerminated).AsyncWaitHandle]);
            Console.Out.WriteLine("node stopping");
            http?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
        return 0;
    }
}
