using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Cluster.Serialization;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Serialization;

public class MessagePackContractSerializerTests : TestKit
{
    public MessagePackContractSerializerTests()
        : base(SmallCap.WithFallback(TestConfig.For(TestConfig.NewDataDirectory())))
    {
    }

    private static Config SmallCap =>
        ConfigurationFactory.ParseString("akka.actor.serialization-settings.msgpack.max-payload-bytes = 4096");

    private SerializerWithStringManifest Serializer =>
        (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(StartVm));

    public static TheoryData<string> ContractManifests() => [.. ContractTypes.ByManifest.Keys.Order()];

    [Fact]
    public void Hocon_binds_every_contract_to_the_messagepack_serializer()
    {
        Assert.NotEmpty(ContractTypes.ByManifest);
        foreach (var type in ContractTypes.ByManifest.Values)
            Assert.IsType<MessagePackContractSerializer>(Sys.Serialization.FindSerializerForType(type));
    }

    [Theory]
    [MemberData(nameof(ContractManifests))]
    public void Every_contract_round_trips(string manifest)
    {
        var original = Samples.Of(ContractTypes.ByManifest[manifest]);
        var bytes = Serializer.ToBinary(original);
        var back = Serializer.FromBinary(bytes, Serializer.Manifest(original));
        Assert.IsType(original.GetType(), back);
        Assert.Equal(bytes, Serializer.ToBinary(back));
    }

    /// <summary>The contracts' share of the fuzzing (tests/Cluster.Vmm.Tests/Fuzz has the VMM's parsers): mutants of every
    /// contract's bytes (bit flips, random and boundary bytes, insertions, deletions, truncation; a fixed seed per
    /// contract) are read or refused with a <see cref="SerializationException"/>, never another exception.</summary>
    [Theory]
    [MemberData(nameof(ContractManifests))]
    public void Mutants_of_every_contract_are_read_or_refused_with_a_serialization_exception(string manifest)
    {
        var original = Serializer.ToBinary(Samples.Of(ContractTypes.ByManifest[manifest]));
        var random = new Random(manifest.Aggregate(17, (h, c) => unchecked((h * 31) + c)));
        byte[] boundary = [0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xcc, 0xcd, 0xce, 0xcf, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff];
        for (int i = 0; i < 300; i++)
        {
            var data = new List<byte>(original);
            for (int round = 1 + random.Next(4); round > 0; round--)
            {
                int at = data.Count == 0 ? 0 : random.Next(data.Count);
                switch (data.Count == 0 ? 0 : random.Next(5))
                {
                    case 0: data.Insert(Math.Min(at, data.Count), boundary[random.Next(boundary.Length)]); break;
                    case 1: data[at] ^= (byte)(1 << random.Next(8)); break;
                    case 2: data[at] = boundary[random.Next(boundary.Length)]; break;
                    case 3: data.RemoveAt(at); break;
                    default: data.RemoveRange(at, data.Count - at); break;
                }
            }
            try
            {
                Serializer.FromBinary([.. data], manifest);
            }
            catch (SerializationException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"mutant {i} of {manifest} ({Convert.ToHexString([.. data])}): {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Fact]
    public void Event_lists_keep_each_event_type()
    {
        var list = new VmEventList("vm-1", [new VmStarted("vm-1", DateTime.UtcNow, "go"), new VmCrashed("vm-1", DateTime.UtcNow, "boom")]);
        var back = (VmEventList)Serializer.FromBinary(Serializer.ToBinary(list), Serializer.Manifest(list));
        Assert.Equal([typeof(VmStarted), typeof(VmCrashed)], back.Events.Select(e => e.GetType()));
        Assert.Equal(DateTimeKind.Utc, back.Events[0].At.Kind);
    }

    [Fact]
    public void Rejects_a_truncated_payload()
    {
        var message = Samples.Of(typeof(VmInfo));
        var bytes = Serializer.ToBinary(message);
        Assert.Throws<SerializationException>(() => Serializer.FromBinary(bytes[..^3], Serializer.Manifest(message)));
    }

    [Fact]
    public void Rejects_trailing_bytes()
    {
        var bytes = Serializer.ToBinary(new StartVm("a"));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([.. bytes, 0xc0], Serializer.Manifest(new StartVm("a"))));
    }

    [Fact]
    public void Rejects_an_unknown_manifest() =>
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([0x90], "System.IO.FileInfo"));

    [Fact]
    public void Rejects_garbage_bytes_for_a_known_manifest() =>
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([0xc1, 0xff, 0x00], Serializer.Manifest(new StartVm("a"))));

    [Fact]
    public void Rejects_payloads_over_the_configured_cap_both_ways()
    {
        var big = new ConsoleInput("a", new byte[5000]);
        Assert.Throws<SerializationException>(() => Serializer.ToBinary(big));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary(new byte[5000], Serializer.Manifest(big)));
    }

    [Fact]
    public async Task A_remote_receiver_still_answers_after_an_oversized_message_was_refused()
    {
        var remoteConfig = SmallCap.WithFallback(TestConfig.For(TestConfig.NewDataDirectory(), remote: true));
        var server = ActorSystem.Create("server", remoteConfig);
        var client = ActorSystem.Create("client", remoteConfig);
        try
        {
            server.ActorOf(Props.Create(() => new EchoActor()), "echo");
            var address = ((ExtendedActorSystem)server).Provider.DefaultAddress;
            var echo = client.ActorSelection($"{address}/user/echo");
            var probe = new Akka.TestKit.TestProbe(client, new XunitAssertions());
            echo.Tell(new ConsoleInput("a", new byte[5000]), probe.Ref);
            echo.Tell(new StartVm("after"), probe.Ref);
            Assert.Equal("after", probe.ExpectMsg<StartVm>(TimeSpan.FromSeconds(10)).VmId);
            probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        }
        finally
        {
            await client.Terminate();
            await server.Terminate();
        }
    }

    private sealed class EchoActor : ReceiveActor
    {
        public EchoActor() => ReceiveAny(m => Sender.Tell(m));
    }
}
