using System.Text;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Devices;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Devices;

/// <summary>A console flooded line by line: subscribers get few coalesced chunks, the excess is dropped, counted and marked.</summary>
public sealed partial class SerialConsoleFloodTests : TestKit
{
    public SerialConsoleFloodTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
    }

    private static string Text(ConsoleOutput output) => Encoding.ASCII.GetString(output.Data);

    /// <summary>What the probe gets until <paramref name="quiet"/> passes without a message (the first may take 10 s on a busy machine).</summary>
    private static List<ConsoleOutput> Drain(Akka.TestKit.TestProbe probe, TimeSpan quiet)
    {
        var got = new List<ConsoleOutput>();
        while (probe.ReceiveOne(got.Count == 0 ? TimeSpan.FromSeconds(10) : quiet) is ConsoleOutput o)
            got.Add(o);
        return got;
    }

    [Fact]
    public void Lines_within_the_rate_reach_a_subscriber_whole_in_a_few_chunks()
    {
        var console = Sys.ActorOf(SerialConsoleActor.Props("c", 65536, ConsoleLimits.Default));
        var subscriber = CreateTestProbe();
        console.Tell(new ConsoleAttach("c"), subscriber.Ref);
        Assert.Equal("", Text(subscriber.ExpectMsg<ConsoleOutput>()));
        var sent = new StringBuilder();
        for (int i = 0; i < 1000; i++)
        {
            var line = $"line {i}\n";
            sent.Append(line);
            console.Tell(new SerialChunk(Encoding.ASCII.GetBytes(line)));
        }
        // Until every byte came (the last chunk waits for the flush timer, which a loaded machine can delay past any
        // fixed quiet window), then nothing more.
        var got = new List<ConsoleOutput>();
        while (got.Sum(o => o.Data.Length) < sent.Length && subscriber.ReceiveOne(TimeSpan.FromSeconds(10)) is ConsoleOutput o)
            got.Add(o);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(sent.ToString(), string.Concat(got.Select(Text)));
        // 8,890 bytes in chunks of at most 4 KiB: 3 of them, more if flush intervals passed while sending, never one per line.
        Assert.InRange(got.Count, 3, 100);
        Assert.All(got, o => Assert.InRange(o.Data.Length, 1, ConsoleLimits.Default.ChunkBytes));
    }

    [Fact]
    public void The_first_output_after_a_quiet_spell_goes_out_at_once_and_what_follows_waits_for_its_chunk()
    {
        // A flush interval far longer than the test: only the quiet-spell rule or a full chunk can publish.
        var limits = new ConsoleLimits(8, TimeSpan.FromMinutes(5), 1_000_000, 1_000_000);
        var console = Sys.ActorOf(SerialConsoleActor.Props("q", 4096, limits));
        var subscriber = CreateTestProbe();
        console.Tell(new ConsoleAttach("q"), subscriber.Ref);
        Assert.Equal("", Text(subscriber.ExpectMsg<ConsoleOutput>()));

        console.Tell(new SerialChunk("H"u8.ToArray()));
        Assert.Equal("H", Text(subscriber.ExpectMsg<ConsoleOutput>(TimeSpan.FromSeconds(10))));
        console.Tell(new SerialChunk("ello\n"u8.ToArray()));
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        console.Tell(new SerialChunk("abc"u8.ToArray()));
        Assert.Equal("ello\nabc", Text(subscriber.ExpectMsg<ConsoleOutput>(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public void A_flood_is_cut_to_the_burst_and_rate_and_every_dropped_byte_is_reported_in_the_stream()
    {
        var limits = new ConsoleLimits(1024, TimeSpan.FromMilliseconds(50), 10_000, 20_000);
        var actor = ActorOfAsTestActorRef<SerialConsoleActor>(SerialConsoleActor.Props("f", 4096, limits));
        IActorRef console = actor;
        var subscriber = CreateTestProbe();
        console.Tell(new ConsoleAttach("f"), subscriber.Ref);
        subscriber.ExpectMsg<ConsoleOutput>();
        const int Lines = 20_000;
        var line = Encoding.ASCII.GetBytes("flood flood flood!\n");
        var started = DateTime.UtcNow;
        for (int i = 0; i < Lines; i++)
            console.Tell(new SerialChunk(line));
        var got = Drain(subscriber, TimeSpan.FromSeconds(1));
        var elapsed = DateTime.UtcNow - started;
        string text = string.Concat(got.Select(Text));

        var markers = Marker().Matches(text);
        Assert.NotEmpty(markers);
        long dropped = markers.Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        // What arrived is what was kept: the text less the markers (each may add a newline before it, when it cut a line).
        long kept = Marker().Replace(text, "").Length;
        long sent = (long)Lines * line.Length;
        Assert.Equal(actor.UnderlyingActor.DroppedBytes, dropped);
        Assert.InRange(kept, sent - dropped, sent - dropped + markers.Count);
        Assert.True(dropped > sent / 2, $"{dropped} of {sent} bytes dropped");
        Assert.InRange(sent - dropped, limits.BurstBytes / 2, limits.BurstBytes + (long)(elapsed.TotalSeconds * limits.BytesPerSecond) + line.Length);
        // Chunks, not lines: far fewer messages than lines, none above a chunk and a marker.
        Assert.InRange(got.Count, 1, Lines / 50);
        Assert.All(got, o => Assert.InRange(o.Data.Length, 1, limits.ChunkBytes + 64));
        // The backlog stays within the ring and shows the loss too.
        console.Tell(new ConsoleTail("f", 1 << 20));
        var tail = Text(ExpectMsg<ConsoleOutput>());
        Assert.InRange(tail.Length, 1, 4096);
        Assert.Contains("bytes dropped]", tail);
    }

    [GeneratedRegex(@"\[console: (\d+) bytes dropped\]\n")]
    private static partial Regex Marker();
}
