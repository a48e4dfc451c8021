using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Contracts.Commands;
using Cluster.Serialization;

namespace Cluster.Node.Tests.Security;

/// <summary>
/// The serializers a cluster node registers (its real layered configuration): the ids of Akka's serializers that
/// instantiate sender-named types (1 Newtonsoft JSON, 2 Protobuf by type name, 3 remote deployment) resolve to nothing,
/// while the contracts and Akka's own messages still round-trip.
/// </summary>
public sealed class WireSerializersTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "wire-serializers", Guid.NewGuid().ToString("N"));
    private readonly ActorSystem _system;

    public WireSerializersTests()
    {
        var overrides = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.hostname = \"127.0.0.58\"\nakka.loglevel = WARNING");
        _system = ActorSystem.Create("hypervisor", HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, _data, overrides, true, null));
    }

    [Theory]
    [InlineData(1, "System.IO.FileInfo, System.IO.FileSystem")]
    [InlineData(2, "Akka.Remote.Serialization.Proto.Msg.Payload, Akka.Remote")]
    [InlineData(3, "Akka.Remote.DaemonMsgCreate, Akka.Remote")]
    public void A_payload_naming_a_type_instantiating_serializer_is_refused(int serializerId, string manifest)
    {
        var e = Assert.Throws<SerializationException>(() => _system.Serialization.Deserialize("{}"u8.ToArray(), serializerId, manifest));
        Assert.Contains($"Cannot find serializer with id [{serializerId}]", e.Message);
    }

    [Fact]
    public void An_unbound_type_fails_loudly_instead_of_going_out_as_json()
    {
        var serializer = _system.Serialization.FindSerializerFor(new Uri("http://example.invalid"));
        Assert.IsType<RefusingSerializer>(serializer);
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new Uri("http://example.invalid")));
    }

    [Fact]
    public void Contracts_and_akkas_own_messages_still_round_trip()
    {
        var delete = new DeleteVm("vm-1");
        var contract = _system.Serialization.FindSerializerFor(delete);
        Assert.Equal(MessagePackContractSerializer.Id, contract.Identifier);
        Assert.Equal(delete, _system.Serialization.Deserialize(contract.ToBinary(delete), contract.Identifier, delete.GetType().FullName!));
        var identify = new Identify(42);
        var misc = (Akka.Serialization.SerializerWithStringManifest)_system.Serialization.FindSerializerFor(identify);
        var back = (Identify)_system.Serialization.Deserialize(misc.ToBinary(identify), misc.Identifier, misc.Manifest(identify));
        Assert.Equal(42, back.MessageId);
    }

    [Fact]
    public void A_remote_failure_is_read_as_text_and_the_type_it_names_is_never_constructed()
    {
        var failure = new Status.Failure(new TrapException("boom"));
        var misc = (Akka.Serialization.SerializerWithStringManifest)_system.Serialization.FindSerializerFor(failure);
        Assert.IsType<SafeMiscMessageSerializer>(misc);
        var bytes = misc.ToBinary(failure);
        Assert.Equal(SafeMiscMessageSerializer.FailureManifest, misc.Manifest(failure));

        TrapException.Constructed = 0;
        var back = Assert.IsType<Status.Failure>(_system.Serialization.Deserialize(bytes, misc.Identifier, misc.Manifest(failure)));
        var cause = Assert.IsType<RemoteFailure>(back.Cause);
        Assert.Equal("boom", cause.Message);
        Assert.Contains(typeof(TrapException).FullName!, cause.TypeName);
        Assert.Equal(0, TrapException.Constructed);

        // Akka's own serializer, given the same bytes, constructs the type the sender named: the hole this closes.
        var akka = new Akka.Remote.Serialization.MiscMessageSerializer((ExtendedActorSystem)_system);
        Assert.IsType<TrapException>(Assert.IsType<Status.Failure>(akka.FromBinary(bytes, SafeMiscMessageSerializer.FailureManifest)).Cause);
        Assert.Equal(1, TrapException.Constructed);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01 })] // a cause whose length runs past the end
    [InlineData(new byte[] { 0x0A, 0x02, 0x0A })] // a truncated type name
    [InlineData(new byte[] { 0x12, 0x00 })] // no cause
    [InlineData(new byte[] { 0x0B })] // a wire type not read
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // an 11-byte varint
    public void A_malformed_remote_failure_is_refused(byte[] bytes) =>
        Assert.Throws<SerializationException>(() => _system.Serialization.Deserialize(bytes, SafeMiscMessageSerializer.Id, SafeMiscMessageSerializer.FailureManifest));

    [Fact]
    public void System_messages_that_carry_an_exception_are_refused_from_the_network_and_the_rest_round_trip()
    {
        var child = _system.ActorOf(Props.Empty, "child");
        var failed = new Akka.Dispatch.SysMsg.Failed(child, new TrapException("child failed"), 7);
        var serializer = _system.Serialization.FindSerializerFor(failed);
        Assert.IsType<SafeSystemMessageSerializer>(serializer);
        TrapException.Constructed = 0;
        var e = Assert.Throws<SerializationException>(() => _system.Serialization.Deserialize(serializer.ToBinary(failed), serializer.Identifier, typeof(Akka.Dispatch.SysMsg.Failed)));
        Assert.Contains("refused", e.Message);
        Assert.Equal(0, TrapException.Constructed);

        var watch = new Akka.Dispatch.SysMsg.Watch((IInternalActorRef)child, (IInternalActorRef)child);
        var back = Assert.IsType<Akka.Dispatch.SysMsg.Watch>(_system.Serialization.Deserialize(serializer.ToBinary(watch), serializer.Identifier, typeof(Akka.Dispatch.SysMsg.Watch)));
        Assert.Equal(child.Path, back.Watchee.Path);
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }
}

/// <summary>An exception that counts how often its serialization constructor runs (what Akka's exception support calls).</summary>
[Serializable]
public sealed class TrapException : Exception
{
    public static int Constructed;

    public TrapException(string message)
        : base(message)
    {
    }

#pragma warning disable SYSLIB0051 // the legacy serialization constructor is exactly what is under test
    private TrapException(SerializationInfo info, StreamingContext context)
        : base(info, context)
    {
        Interlocked.Increment(ref Constructed);
    }
#pragma warning restore SYSLIB0051
}
