using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Contracts.Replies;
using Cluster.Node.Http;

namespace Cluster.Node.Tests.Http;

/// <summary>The console bridge actor alone, with a stand-in gate that answers an attach with a burst of output.</summary>
public sealed class ConsoleBridgeTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("bridge-tests", ConfigurationFactory.ParseString("akka.loglevel = OFF\nakka.stdout-loglevel = OFF"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _system.Terminate();

    [Fact]
    public async Task A_full_outbox_drops_further_output_instead_of_buffering_it_and_a_hangup_completes_it()
    {
        var gate = _system.ActorOf(Props.Create(() => new Burst(5)));
        var outbox = Channel.CreateBounded<byte[]>(2);
        var ended = new TaskCompletionSource<ConsoleBridge.ConsoleEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bridge = _system.ActorOf(ConsoleBridge.Props(gate, "cht_x", "web-1", outbox.Writer, ended));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        bridge.Tell(ConsoleBridge.Hangup.Instance);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await ended.Task.WaitAsync(TimeSpan.FromSeconds(10))).Status);
        var kept = new List<string>();
        await foreach (var data in outbox.Reader.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
            kept.Add(Encoding.UTF8.GetString(data));
        Assert.Equal(["chunk 0", "chunk 1"], kept);
    }

    private sealed class Burst : ReceiveActor
    {
        public Burst(int chunks) => ReceiveAny(_ =>
        {
            for (var i = 0; i < chunks; i++)
                Sender.Tell(new ConsoleOutput("web-1", Encoding.UTF8.GetBytes($"chunk {i}")));
        });
    }
}
