using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Serialization;

namespace Cluster.Node.Http.History;

/// <summary>
/// Keeps the node's history (<see cref="HistoryBook"/>) and event feed (<see cref="ChangeFeed"/>): every
/// <c>interval</c> it asks the cluster ListVms and, on a cluster node, ListHosts, ListMigrations and GetRebalanceStatus,
/// and records the answers. A node gives it its trusted control entry point (the actor behind the access gate, which
/// in-process callers may use): then it samples from the node's start, without a token. Without one it asks through the
/// gate like any client, with a token borrowed from the dashboard's readers (<see cref="Borrow"/>: the last token the
/// gate accepted on the history or events route); it samples while it holds a token the gate accepts and stops,
/// forgetting it, when the gate refuses it (revoked, expired).
/// </summary>
public sealed class HistorySampler : ReceiveActor, IWithTimers
{
    /// <summary>A token the gate has just accepted from a reader of the history.</summary>
    public sealed record Borrow(string Token);

    /// <summary>Asks for the series of a host or a VM; answered with <see cref="SeriesRead"/>.</summary>
    public sealed record ReadSeries(bool Host, string Id);

    /// <summary>The kept samples (empty when the host or VM is unknown) and the sampling interval.</summary>
    public sealed record SeriesRead(long[] At, IReadOnlyDictionary<string, double?[]> Series, TimeSpan Interval);

    /// <summary>Asks for the feed's events after <paramref name="Seq"/>; answered with <see cref="FeedRead"/>.</summary>
    public sealed record ReadFeed(long Seq);

    /// <summary>The events after the asked number, and the newest number.</summary>
    public sealed record FeedRead(IReadOnlyList<FeedEvent> Events, long Last);

    /// <summary>The answers of one sample, in the order asked (fewer when the gate refused one).</summary>
    private sealed record Sampled(string Token, DateTime At, IReadOnlyList<object> Answers);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    private readonly IActorRef _gate;
    private readonly IActorRef? _trusted;
    private readonly bool _cluster;
    private readonly TimeSpan _interval;
    private readonly HistoryBook _book = new();
    private readonly ChangeFeed _feed = new();
    private string? _token;
    private bool _sampling;

    public HistorySampler(IActorRef gate, bool cluster, TimeSpan interval, IActorRef? trusted = null)
    {
        _gate = gate;
        _trusted = trusted;
        _cluster = cluster;
        _interval = interval;
        Receive<Borrow>(b =>
        {
            var first = _token is null;
            _token = b.Token;
            if (first)
                Sample();
        });
        Receive<Tick>(_ => Sample());
        Receive<Sampled>(Record);
        Receive<Status.Failure>(_ => _sampling = false);
        Receive<ReadSeries>(r =>
        {
            var ring = r.Host ? _book.Host(r.Id) : _book.Vm(r.Id);
            var (at, series) = ring?.Read() ?? ([], (r.Host ? HistoryBook.HostSeries : HistoryBook.VmSeries).ToDictionary(n => n, _ => Array.Empty<double?>()));
            Sender.Tell(new SeriesRead(at, series, _interval));
        });
        Receive<ReadFeed>(r => Sender.Tell(new FeedRead(_feed.After(r.Seq), _feed.Last)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A sampler in front of <paramref name="gate"/>; a standalone node (<paramref name="cluster"/> false) is asked for its VMs only.</summary>
    public static Props Props(IActorRef gate, bool cluster, TimeSpan interval, IActorRef? trusted = null) =>
        Akka.Actor.Props.Create(() => new HistorySampler(gate, cluster, interval, trusted));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("sample", Tick.Instance, _interval);
        if (_trusted is not null)
            Self.Tell(Tick.Instance);
    }

    private void Sample()
    {
        if (_sampling || (_trusted is null && _token is null))
            return;
        _sampling = true;
        Ask(_token ?? "").PipeTo(Self);
    }

    /// <summary>Asks the questions of one sample in turn, stopping at the first the gate refuses.</summary>
    private async Task<Sampled> Ask(string token)
    {
        var at = DateTime.UtcNow;
        object[] questions = _cluster ? [ListVms.Instance, ListHosts.Instance, ListMigrations.Instance, GetRebalanceStatus.Instance] : [ListVms.Instance];
        var answers = new List<object>();
        foreach (var question in questions)
        {
            var answer = _trusted is not null
                ? await _trusted.Ask<object>(question, AskTimeout)
                : await _gate.Ask<object>(BearerCommands.Wrap(token, question), AskTimeout);
            answers.Add(answer);
            if (answer is AccessDenied)
                break;
        }
        return new Sampled(token, at, answers);
    }

    private void Record(Sampled s)
    {
        _sampling = false;
        if (s.Answers.Any(a => a is AccessDenied))
        {
            if (_token == s.Token)
                _token = null;
            return;
        }
        var vms = s.Answers[0] as VmList;
        var hosts = _cluster ? s.Answers[1] as HostList : new HostList([]);
        var migrations = _cluster ? s.Answers[2] as MigrationList : new MigrationList([]);
        if (vms is null || hosts is null || migrations is null)
            return;
        _book.Record(s.At, hosts.Hosts, vms.Vms);
        _feed.Observe(s.At, hosts.Hosts, vms.Vms, migrations.Migrations, _cluster && s.Answers[3] is RebalanceStatus r ? r.Hosts : null);
    }
}
