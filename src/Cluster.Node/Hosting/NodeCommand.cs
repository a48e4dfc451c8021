using System.Runtime.InteropServices;
using Cluster.Actors.Hosting;
using Cluster.Vmm;

namespace Cluster.Node.Hosting;

/// <summary><c>cluster-node run</c>: hosts a node until SIGINT or SIGTERM.</summary>
public static class NodeCommand
{
    /// <summary>Runs the node with parsed options; returns the process exit code.</summary>
    public static int Run(NodeOptions options, Cli.CliIo io)
    {
        NodeHost host;
        try
        {
            host = NodeHost.Start(options, HypervisorConfig.DefaultHoconDirectory);
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException or Akka.Configuration.ConfigurationException
                                       or Serialization.Tls.RemoteTlsException)
        {
            io.Error.WriteLine($"cluster-node run: cannot start: {e.Message}");
            return 1;
        }
        using (host)
        {
            Http.HttpApi? http = null;
            if (options.Http is not null)
            {
                string certificateNote;
                try
                {
                    var certificate = options.HttpCertificate is { } pair
                        ? Http.HttpCertificate.Load(pair.Certificate, pair.Key)
                        : Http.HttpCertificate.EnsureSelfSigned(options.DataDirectory, System.Net.IPEndPoint.Parse(options.Http).Address, out _);
                    certificateNote = options.HttpCertificate?.Certificate ?? Path.Combine(options.DataDirectory, Http.HttpCertificate.CertificateFile);
                    http = Http.HttpApi.StartAsync(options.Http, host.System, host.Control, certificate, () => NodeReadiness.Check(host.System),
                        cluster: options.Cluster is not null, trusted: host.Manager).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    io.Error.WriteLine($"cluster-node run: cannot serve HTTPS on {options.Http}: {e.Message}");
                    return 1;
                }
                io.Out.WriteLine($"http api at https://{options.Http}/api (certificate {certificateNote})");
            }
            var stop = new ManualResetEventSlim();
            // A second signal cuts the shutdown drain short.
            using var again = new ManualResetEvent(false);
            Action<PosixSignalContext> onSignal = c =>
            {
                c.Cancel = true;
                if (stop.IsSet) again.Set();
                stop.Set();
            };
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
            var self = $"{host.Address.Host}:{host.Address.Port}";
            var drain = ShutdownDrain.Settings(host.System.Settings.Config);
            if (options.Cluster is not null)
                _ = ShutdownDrain.UndrainIfMarkedAsync(host.Manager, self, options.DataDirectory, io.Out, TimeSpan.FromMinutes(2));
            io.Out.WriteLine($"backend: {host.BackendReason}");
            io.Out.WriteLine(host.AdminTokenCreated
                ? $"new admin token written to {Path.Combine(options.DataDirectory, Contracts.Access.TokenText.AdminTokenFile)} (mode 0600)"
                : $"admin token in {Path.Combine(options.DataDirectory, Contracts.Access.TokenText.AdminTokenFile)}");
            io.Out.WriteLine($"node ready at {host.Address}");
            io.Out.Flush();
            WaitHandle.WaitAny([stop.WaitHandle, ((IAsyncResult)host.System.WhenTerminated).AsyncWaitHandle]);
            io.Out.WriteLine("node stopping");
            // A cluster node asked to stop moves its guests away live first (a rolling upgrade restarts none of them).
            if (options.Cluster is not null && drain.Enabled && stop.IsSet && !host.System.WhenTerminated.IsCompleted)
                ShutdownDrain.Run(host.Manager, self, options.DataDirectory, drain.Timeout, io.Out, again);
            io.Out.Flush();
            http?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
        return 0;
    }
}
