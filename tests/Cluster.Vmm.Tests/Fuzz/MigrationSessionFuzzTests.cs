using System.Net;
using System.Net.Sockets;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.Migration;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Vmm.Tests.Fuzz;

/// <summary>
/// Migration frames on a socket: a real migration's byte stream (what a source sends after its token, recorded by a
/// relay) is mutated frame by frame (payload havoc, header fields, dropped, repeated and swapped frames, truncation)
/// and sent by an authenticated peer to fresh targets. Every target must end on its own (success or a refusal, within
/// its I/O timeout), return a result instead of throwing, and leave nothing running; the process must survive.
/// Seeded (<c>MIGRATION_FUZZ_SEED</c>, <c>MIGRATION_FUZZ_CASES</c>), so a failing case replays from its seed.
/// </summary>
public sealed class MigrationSessionFuzzTests(ITestOutputHelper output)
{
    private const ulong Memory = 4UL << 20;
    private static readonly TimeSpan TargetIo = TimeSpan.FromSeconds(2);

    [Fact]
    public void Mutated_migration_streams_end_every_target_with_a_result_and_nothing_left_running()
    {
        var (config, stream) = RecordedSession();
        var frames = Frames(stream);
        Assert.True(frames.Count >= 5, $"the recorded session has {frames.Count} frames");
        Assert.Equal(MigrationCommand.Hello, (MigrationCommand)frames[0][0]);

        // The unmutated stream migrates: the harness below is able to drive a target to success at all.
        var clean = Replay(config, stream);
        Assert.True(clean.Succeeded, $"the recorded stream replayed: {clean.FailureReason}");

        int seed = int.TryParse(Environment.GetEnvironmentVariable("MIGRATION_FUZZ_SEED"), out var s) ? s : Environment.TickCount;
        int cases = int.TryParse(Environment.GetEnvironmentVariable("MIGRATION_FUZZ_CASES"), out var c) ? c : 200;
        var random = new Random(seed);
        var mutator = new Mutator(seed);
        int succeeded = 0, refused = 0;
        for (int i = 0; i < cases; i++)
        {
            var (what, mutant) = Mutate(frames, random, mutator);
            MigrationTargetResult result;
            try
            {
                result = Replay(config, mutant);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"case {i} of seed {seed} ({what}, {mutant.Length} bytes): {e.GetType().Name}: {e.Message}\n{e}");
            }
            if (result.Succeeded) succeeded++; else refused++;
        }
        output.WriteLine($"seed {seed}: {cases} mutated sessions, {refused} refused, {succeeded} migrated (mutations inside page contents or padding)");
        Assert.True(refused > 0, "no mutated session was refused: the mutations did not reach the protocol");
    }

    /// <summary>One real pre-copy migration of a counting guest over one plaintext connection, recorded after the token.</summary>
    private static (MachineConfig Config, byte[] Stream) RecordedSession()
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 20\n"), "the guest to count");
        Relay? relay = null;
        try
        {
            var (source, target) = h.Migrate(h.Source, new MigrationOptions { Mode = MigrationMode.PreCopy, Connections = 1 },
                encrypted: false, route: endpoint => (relay = new Relay(endpoint, record: true)).Endpoint);
            Assert.True(source.Succeeded, source.FailureReason);
            Assert.True(target.Succeeded, target.FailureReason);
            return (h.Source.Config, relay!.Recorded[MigrationCredentials.TokenBytes..]);
        }
        finally
        {
            relay?.Dispose();
        }
    }

    /// <summary>Sends <paramref name="stream"/> after a valid token to a fresh target of <paramref name="config"/>, reading
    /// and dropping its replies, and returns the target's result (its machine stopped and disposed).</summary>
    private static MigrationTargetResult Replay(MachineConfig config, byte[] stream)
    {
        using var hypervisor = new EmulatedHypervisor();
        using var identity = MigrationIdentity.Create(encrypted: false);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var target = new MigrationTarget(hypervisor, config, new MigrationTargetOptions { IoTimeout = TargetIo, HandshakeTimeout = TargetIo });
            var receiving = target.ReceiveAsync(listener, identity, cancel.Token);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect((IPEndPoint)listener.LocalEndpoint);
            var draining = Task.Run(() =>
            {
                var sink = new byte[64 << 10];
                try
                {
                    while (socket.Receive(sink) > 0) { }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            });
            try
            {
                socket.Send(identity.Credentials.Token);
                socket.Send(stream);
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The target closed first (it refused the stream): its result says why.
            }
            Assert.True(receiving.Wait(TimeSpan.FromSeconds(20)), "the target did not end within 20 s of a mutated stream");
            var result = receiving.Result;
            if (result.Machine is { } machine)
            {
                machine.Stop();
                machine.Dispose();
            }
            socket.Close();
            draining.Wait(TimeSpan.FromSeconds(5));
            return result;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>The frames of a recorded stream (header and payload each), in order.</summary>
    private static List<byte[]> Frames(byte[] stream)
    {
        var frames = new List<byte[]>();
        for (int at = 0; at + MigrationProtocol.HeaderSize <= stream.Length;)
        {
            int length = BitConverter.ToInt32(stream, at + 4);
            int end = at + MigrationProtocol.HeaderSize + length;
            Assert.InRange(end, at + MigrationProtocol.HeaderSize, stream.Length);
            frames.Add(stream[at..end]);
            at = end;
        }
        return frames;
    }

    private static (string What, byte[] Stream) Mutate(List<byte[]> frames, Random random, Mutator mutator)
    {
        var list = frames.Select(f => f.ToArray()).ToList();
        int pick = random.Next(list.Count);
        string what;
        switch (random.Next(7))
        {
            case 0:
            {
                // Havoc inside one payload, the header's length kept in step.
                var frame = list[pick];
                var payload = mutator.Mutate(frame[MigrationProtocol.HeaderSize..], list[random.Next(list.Count)], 1 << 20);
                list[pick] = [.. frame[..MigrationProtocol.HeaderSize], .. payload];
                BitConverter.TryWriteBytes(list[pick].AsSpan(4), payload.Length);
                what = $"payload of frame {pick} ({(MigrationCommand)frame[0]})";
                break;
            }
            case 1:
                list[pick][0] = (byte)random.Next(256);
                what = $"command of frame {pick} set to {list[pick][0]}";
                break;
            case 2:
            {
                int[] lengths = [0, 1, -1, int.MaxValue, MigrationProtocol.MaxPayload + 1, random.Next(1 << 20)];
                int length = lengths[random.Next(lengths.Length)];
                BitConverter.TryWriteBytes(list[pick].AsSpan(4), length);
                what = $"length of frame {pick} ({(MigrationCommand)list[pick][0]}) set to {length}";
                break;
            }
            case 3:
                list[pick][1 + random.Next(3)] = (byte)(1 + random.Next(255));
                what = $"reserved byte of frame {pick} set";
                break;
            case 4:
                list.RemoveAt(pick);
                what = $"frame {pick} dropped";
                break;
            case 5:
                list.Insert(pick, list[random.Next(list.Count)].ToArray());
                what = $"a frame repeated before frame {pick}";
                break;
            default:
            {
                int other = random.Next(list.Count);
                (list[pick], list[other]) = (list[other], list[pick]);
                what = $"frames {pick} and {other} swapped";
                break;
            }
        }
        var stream = list.SelectMany(f => f).ToArray();
        if (random.Next(8) == 0)
        {
            int cut = random.Next(stream.Length);
            stream = stream[..cut];
            what += $", cut at {cut}";
        }
        return (what, stream);
    }
}
