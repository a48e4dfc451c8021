using Akka.Actor;

namespace Cluster.Actors.Devices;

/// <summary>Bytes the guest wrote to its serial port, posted by the VMM thread.</summary>
public sealed record SerialChunk(byte[] Data);

/// <summary>
/// Where typed input goes now: to <paramref name="Owner"/> (the vCPU supervisor of the running guest, which writes it to
/// the guest's serial port) while <paramref name="Accepting"/>, or nowhere. A release from an old owner does not clear a newer sink.
/// </summary>
public sealed record GuestInputSink(IActorRef Owner, bool Accepting);
