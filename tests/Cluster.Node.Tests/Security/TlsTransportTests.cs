using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization.Tls;

namespace Cluster.Node.Tests.Security;

/// <summary>
/// The cluster's Akka.Remote transport (<see cref="Cluster.Serialization.Tls.Transport.TlsTransport"/>) between in-test
/// ActorSystems with certificates of the test run's CA: messages go both ways, and a peer that ends the connection during
/// the TLS handshake (as a process that dies or exits at that moment does) is a failed association, not the end of the
/// system that connected (Akka.Remote's DotNetty transport ran a coordinated shutdown then: exit code 79).
/// </summary>
public sealed class TlsTransportTests : IDisposable
{
    private readonly List<ActorSystem> _systems = [];

    private ActorSystem System(string name, string ip)
    {
        var config = ConfigurationFactory.ParseString(
                $"""
                akka.loglevel = WARNING
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp.hostname = "{ip}"
                akka.remote.dot-netty.tcp.port = 0
                akka.remote.retry-gate-closed-for = 200ms
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))));
        var system = ActorSystem.Create(name, TestCa.Client.Bootstrap(config));
        _systems.Add(system);
        return system;
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    private static string AddressOf(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress.ToString();

    [Fact]
    public async Task Messages_go_both_ways_and_a_peer_that_closes_during_the_handshake_leaves_the_connecting_system_running()
    {
        var a = System("a", "127.0.0.61");
        var b = System("b", "127.0.0.62");
        b.ActorOf(Props.Create(() => new Echo()), "echo");
        Assert.StartsWith(RemoteTls.Protocol + "://", AddressOf(a));
        var echo = await a.ActorSelection($"{AddressOf(b)}/user/echo").ResolveOne(TimeSpan.FromSeconds(10));
        // Larger than one TLS record and one write batch, so that frames span both.
        var big = new string('x', 100_000);
        Assert.Equal(big, await echo.Ask<string>(big, TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 200; i++)
            echo.Tell(i);

        // A peer that takes the connection and closes it at once, and one that reads the ClientHello and then closes.
        using var closer = new TcpListener(IPAddress.Parse("127.0.0.63"), 0);
        closer.Start();
        var port = ((IPEndPoint)closer.LocalEndpoint).Port;
        var closing = Task.Run(async () =>
        {
            for (var n = 0; n < 4; n++)
            {
                using var socket = await closer.AcceptSocketAsync();
                if (n % 2 == 1)
                    await socket.ReceiveAsync(new byte[512], SocketFlags.None);
                socket.Close();
            }
        });
        for (var n = 0; n < 4; n++)
        {
            await Assert.ThrowsAsync<ActorNotFoundException>(() =>
                a.ActorSelection($"{RemoteTls.Protocol}://c@127.0.0.63:{port}/user/x").ResolveOne(TimeSpan.FromSeconds(1)));
            await Task.Delay(300);
        }
        await Task.WhenAny(closing, Task.Delay(TimeSpan.FromSeconds(20)));
        await Task.Delay(1000);
        Assert.True(CoordinatedShutdown.Get(a).ShutdownReason is null && !a.WhenTerminated.IsCompleted,
            $"the system that connected ended: {CoordinatedShutdown.Get(a).ShutdownReason}");
        Assert.True(closing.IsCompletedSuccessfully, $"the closing peer saw 4 connections: {closing.Status}");
        Assert.Equal(7, await echo.Ask<int>(7, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_system_whose_certificate_the_cluster_refuses_gets_no_answer()
    {
        var b = System("b", "127.0.0.64");
        b.ActorOf(Props.Create(() => new Echo()), "echo");
        // A raw TLS client with no certificate: the server asks for one and refuses the connection.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Parse("127.0.0.64"), ((ExtendedActorSystem)b).Provider.DefaultAddress.Port!.Value);
        await using var ssl = new global::System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        var refused = await Record.ExceptionAsync(async () =>
        {
            await ssl.AuthenticateAsClientAsync("127.0.0.64");
            // TLS 1.3 reports the server's refusal of the (missing) client certificate at the first read.
            var read = await ssl.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(0, read);
        });
        Assert.True(refused is null or IOException or global::System.Security.Authentication.AuthenticationException, $"{refused}");
        Assert.False(b.WhenTerminated.IsCompleted);
    }

    public void Dispose()
    {
        foreach (var system in _systems)
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
