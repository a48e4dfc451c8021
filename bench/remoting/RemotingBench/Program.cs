// Akka.Remote between two ActorSystems of this process over mutual TLS: the cluster's transport (TlsTransport) against
// Akka.Remote's DotNetty transport in the same run, alternating. Per run: the round trip of an Ask (p50, p99 over
// ASKS asks after a warm-up) and one-way throughput (TELLS messages of 64 bytes counted by the receiver).
// usage: RemotingBench CADIR [RUNS=3] [ASKS=2000] [TELLS=100000]; CADIR holds ca.crt and vmctl.crt/.key.
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Cluster.Serialization.Tls;

var ca = args[0];
var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var asks = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
var tells = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100_000;
var tls = RemoteTls.Load(ca, Path.Combine(ca, "vmctl.crt"));
var results = new Dictionary<string, List<(double P50, double P99, double PerS)>> { ["own"] = [], ["dotnetty"] = [] };

for (var run = 1; run <= runs; run++)
{
    foreach (var transport in new[] { "own", "dotnetty" })
    {
        var r = await MeasureAsync(transport == "own");
        results[transport].Add(r);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"run={run} transport={transport} rtt_p50_us={r.P50:0} rtt_p99_us={r.P99:0} msgs_per_s={r.PerS:0}"));
    }
}

double Median(IEnumerable<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

var own = (P50: Median(results["own"].Select(r => r.P50)), P99: Median(results["own"].Select(r => r.P99)), PerS: Median(results["own"].Select(r => r.PerS)));
var peer = (P50: Median(results["dotnetty"].Select(r => r.P50)), P99: Median(results["dotnetty"].Select(r => r.P99)), PerS: Median(results["dotnetty"].Select(r => r.PerS)));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"rtt_p50_us={own.P50:0} rtt_p99_us={own.P99:0} msgs_per_s={own.PerS:0} dotnetty_rtt_p50_us={peer.P50:0} dotnetty_rtt_p99_us={peer.P99:0} dotnetty_msgs_per_s={peer.PerS:0} rtt_p50_ratio_vs_dotnetty={own.P50 / peer.P50:0.00} throughput_ratio_vs_dotnetty={own.PerS / peer.PerS:0.00}"));

async Task<(double P50, double P99, double PerS)> MeasureAsync(bool ownTransport)
{
    var a = System("a", "127.0.0.71", ownTransport);
    var b = System("b", "127.0.0.72", ownTransport);
    try
    {
        b.ActorOf(Props.Create(() => new Echo()), "echo");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ActorOf(Props.Create(() => new Counter(tells, done)), "count");
        var at = ((ExtendedActorSystem)b).Provider.DefaultAddress;
        var echo = await a.ActorSelection($"{at}/user/echo").ResolveOne(TimeSpan.FromSeconds(10));
        var count = await a.ActorSelection($"{at}/user/count").ResolveOne(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 200; i++)
            await echo.Ask<int>(i, TimeSpan.FromSeconds(5));
        var rtt = new List<double>(asks);
        for (var i = 0; i < asks; i++)
        {
            var clock = Stopwatch.StartNew();
            await echo.Ask<int>(i, TimeSpan.FromSeconds(5));
            rtt.Add(clock.Elapsed.TotalMicroseconds);
        }
        rtt.Sort();
        var payload = new string('x', 64);
        var sending = Stopwatch.StartNew();
        for (var i = 0; i < tells; i++)
            count.Tell(payload);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        return (rtt[asks / 2], rtt[asks * 99 / 100], tells / sending.Elapsed.TotalSeconds);
    }
    finally
    {
        await Task.WhenAll(a.Terminate(), b.Terminate());
    }
}

ActorSystem System(string name, string ip, bool ownTransport)
{
    var config = ConfigurationFactory.ParseString(
            $"""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.hostname = "{ip}"
            akka.remote.dot-netty.tcp.port = 0
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """)
        .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))));
    // RemoteTls.Bootstrap puts the cluster's transport in; DotNetty's is the same TLS identity with enable-ssl alone.
    var setup = ownTransport
        ? tls.Bootstrap(config)
        : ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on").WithFallback(config))).And(tls.Setup());
    return ActorSystem.Create(name, setup);
}

internal sealed class Echo : ReceiveActor
{
    public Echo() => ReceiveAny(m => Sender.Tell(m));
}

internal sealed class Counter : ReceiveActor
{
    public Counter(int expected, TaskCompletionSource done)
    {
        var seen = 0;
        ReceiveAny(_ =>
        {
            if (++seen == expected)
                done.TrySetResult();
        });
    }
}
