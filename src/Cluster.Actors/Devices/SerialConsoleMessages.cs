using Akka.Actor;

namespace Cluster.Actors.Devices;

/// <summary>Bytes the guest wrote to its serial port, posted by the VMM thread.</summary>
public sealed record SerialChunk(byte[] Data);

/// <summary>
/// Where typed input goes now: the serial port of the guest that <paramref name="Owner"/> supervises,
/// or nowhere (null <paramref name="Write"/>). A release from an old owner does not clear a newer sink.
/// </summary>
public sealed record GuestInputSink(IActorRef Owner, Action<byte[]>? Write);
