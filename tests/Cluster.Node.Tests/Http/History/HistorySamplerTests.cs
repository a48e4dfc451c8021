using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Node.Http.History;
using Cluster.Serialization;
using static Cluster.Node.Tests.Http.History.HistoryBookTests;

namespace Cluster.Node.Tests.Http.History;

/// <summary>
/// The sampler against a stand-in gate that records each command with its token: it asks nothing before it is lent a
/// token, samples at once when lent one and then every interval, and stops (forgetting the token) when the gate
/// refuses it, until another is lent.
/// </summary>
public sealed class HistorySamplerTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly ActorSystem _system = ActorSystem.Create("sampler-tests", ConfigurationFactory.ParseString("akka.loglevel = OFF\nakka.stdout-loglevel = OFF"));
    private readonly ConcurrentQueue<(string Token, object Command)> _asked = new();
    private readonly ConcurrentQueue<string> _refused = new();
    private volatile string _accepted = "good";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.Terminate();

    private object Answer(string token, object command)
    {
        if (token == _accepted)
            return Accepted(command);
        _refused.Enqueue(token);
        return new AccessDenied(Denial.Unauthenticated, "token revoked");
    }

    private static object Accepted(object command) => command switch
        {
            ListVms => new VmList([Vm("a", "h1:1")]),
            ListHosts => new HostList([Host("h1:1", 0.25, new PlacedVm("a", 1, 64UL << 20, null, 0.25))]),
            ListMigrations => new MigrationList([]),
            GetRebalanceStatus => new RebalanceStatus(RebalanceMode.Off, 0, 0.2, null, [], [], [], 0),
            _ => new Status.Failure(new InvalidOperationException(command.GetType().Name)),
        };

    private IActorRef Sampler()
    {
        var gate = _system.ActorOf(Props.Create(() => new Gate(_asked, Answer)));
        return _system.ActorOf(HistorySampler.Props(gate, cluster: true, Interval));
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var i = 0; i < 100 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), "waited 5 s for " + what);
    }

    [Fact]
    public async Task Samples_with_a_lent_token_until_the_gate_refuses_it()
    {
        var sampler = Sampler();
        await Task.Delay(3 * Interval);
        Assert.Empty(_asked);

        sampler.Tell(new HistorySampler.Borrow("good"));
        await Until(() => _asked.Count(a => a.Command is ListVms) >= 3, "three samples");
        Assert.All(_asked, a => Assert.Equal("good", a.Token));
        Assert.Equal(["GetRebalanceStatus", "ListHosts", "ListMigrations", "ListVms"], _asked.Select(a => a.Command.GetType().Name).Distinct().Order());
        var read = await sampler.Ask<HistorySampler.SeriesRead>(new HistorySampler.ReadSeries(Host: false, "a"));
        Assert.True(read.At.Length >= 3);
        Assert.All(read.Series["cpu"], v => Assert.Equal(0.25, v));

        _accepted = "other";
        await Until(() => _refused.Contains("good"), "a refused sample");
        var count = _asked.Count;
        await Task.Delay(4 * Interval);
        Assert.Equal(count, _asked.Count);

        sampler.Tell(new HistorySampler.Borrow("other"));
        await Until(() => _asked.Any(a => a.Token == "other"), "a sample with the new token");
    }

    [Fact]
    public async Task With_the_nodes_trusted_entry_point_it_samples_from_the_start_without_a_token()
    {
        var gate = _system.ActorOf(Props.Create(() => new Gate(_asked, Answer)));
        var trusted = new ConcurrentQueue<object>();
        var control = _system.ActorOf(Props.Create(() => new Control(trusted)));
        var sampler = _system.ActorOf(HistorySampler.Props(gate, cluster: true, Interval, control));
        await Until(() => trusted.Count(c => c is ListVms) >= 2, "two samples with no reader");
        Assert.Empty(_asked);
        var read = await sampler.Ask<HistorySampler.SeriesRead>(new HistorySampler.ReadSeries(Host: true, "h1:1"));
        Assert.True(read.At.Length >= 2);
    }

    /// <summary>The node's control entry point behind the gate: answers plain commands.</summary>
    private sealed class Control : ReceiveActor
    {
        public Control(ConcurrentQueue<object> asked) => ReceiveAny(c =>
        {
            asked.Enqueue(c);
            Sender.Tell(Accepted(c));
        });
    }

    private sealed class Gate : ReceiveActor
    {
        public Gate(ConcurrentQueue<(string, object)> asked, Func<string, object, object> answer) => Receive<BearerCommand>(c =>
        {
            var command = BearerCommands.Unwrap(c, out _)!;
            asked.Enqueue((c.Token, command));
            Sender.Tell(answer(c.Token, command));
        });
    }
}
