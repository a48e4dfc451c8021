using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>One reading of a counting guest's console: the last complete <c>count N</c> line, when (UTC, as the journal's
/// events carry it) and through which host.</summary>
public sealed record CounterSample(string Vm, DateTime At, int Via, ulong Count);

/// <summary>One reading of an a-b guest's console (<c>abcount</c>) that shows its pages inconsistent: the guest's last
/// <c>ab-bad count=N slot=K saw=V</c> line, when and through which host.</summary>
public sealed record AbBadSample(string Vm, DateTime At, int Via, string Line);

/// <summary>
/// Reads the counting guests' consoles (the last bytes, <see cref="ConsoleTail"/>, through a live host) every
/// <see cref="Period"/> while the schedule runs, faults included, and once more at the end. The guest prints
/// <c>count N</c> with N growing by one; a live migration carries its memory (and the console's tail), so N goes on; only a
/// cold boot starts it again at 1. The nemesis's guests are <c>abcount</c>: the same counter kept in four pages in
/// different 256 KiB migration groups, checked equal by the guest itself on every iteration; a reading that shows its
/// <c>ab-bad</c> line (a migration lost or reordered a page) is kept in <see cref="AbBad"/>.
/// </summary>
internal sealed partial class NemesisCounters(NemesisCluster cluster, int vms) : IAsyncDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private readonly List<CounterSample> _samples = [];
    private readonly List<AbBadSample> _abBad = [];
    private readonly CancellationTokenSource _stop = new();
    private (int Host, NodeClient Client)? _client;
    private Task? _loop;
    private int _next;

    public IReadOnlyList<CounterSample> Samples
    {
        get { lock (_samples) return [.. _samples]; }
    }

    /// <summary>The readings that showed an a-b guest's pages inconsistent.</summary>
    public IReadOnlyList<AbBadSample> AbBad
    {
        get { lock (_abBad) return [.. _abBad]; }
    }

    public void Start() => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            await SampleAsync();
            try { await Task.Delay(Period, _stop.Token); }
            catch (OperationCanceledException) { }
        }
    });

    /// <summary>Stops the periodic reading and reads every console once more.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop;
        await SampleAsync();
    }

    /// <summary>One reading of every VM's console through a live host (another one, round robin, after a failure).</summary>
    private async Task SampleAsync()
    {
        for (var v = 0; v < vms; v++)
        {
            var vm = $"v{v}";
            try
            {
                var (host, client) = await ClientAsync();
                if (await client.AskAsync(new ConsoleTail(vm, 256)).WaitAsync(AskTimeout) is not ConsoleOutput output)
                    continue;
                var at = DateTime.UtcNow;
                if (LastCount(output.Data) is { } count)
                    lock (_samples) _samples.Add(new CounterSample(vm, at, host, count));
                if (LastAbBad(output.Data) is { } bad)
                    lock (_abBad) _abBad.Add(new AbBadSample(vm, at, host, bad));
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
            {
                await DropClientAsync();
            }
        }
    }

    private async Task<(int, NodeClient)> ClientAsync()
    {
        if (_client is { } c && cluster.Running(c.Host))
            return c;
        await DropClientAsync();
        var host = cluster.Via(prefer: _next++ % NemesisSchedule.Hosts);
        var client = await NodeTokens.ConnectAsync(cluster.Host(host), AskTimeout);
        _client = (host, client);
        return (host, client);
    }

    private async Task DropClientAsync()
    {
        if (_client is { } c)
        {
            _client = null;
            _next++;
            try { await c.Client.DisposeAsync(); }
            catch (Exception) { }
        }
    }

    /// <summary>N of the last complete <c>count N</c> line in <paramref name="console"/>; null when there is none.</summary>
    public static ulong? LastCount(byte[] console)
    {
        var text = Encoding.ASCII.GetString(console);
        var end = text.LastIndexOf('\n');
        if (end < 0)
            return null;
        var matches = CountLine().Matches(text[..(end + 1)]);
        return matches.Count == 0 ? null : ulong.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The last complete <c>ab-bad ...</c> line in <paramref name="console"/> (the a-b guest found two of its pages
    /// inconsistent); null when there is none.</summary>
    public static string? LastAbBad(byte[] console)
    {
        var text = Encoding.ASCII.GetString(console);
        var end = text.LastIndexOf('\n');
        if (end < 0)
            return null;
        var matches = AbBadLine().Matches(text[..(end + 1)]);
        return matches.Count == 0 ? null : matches[^1].Groups[1].Value;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop;
        await DropClientAsync();
        _stop.Dispose();
    }

    [GeneratedRegex(@"(?m)^count (\d+)\n")]
    private static partial Regex CountLine();

    [GeneratedRegex(@"(?m)^(ab-bad [^\n]*)\n")]
    private static partial Regex AbBadLine();
}
