using System.Runtime.Serialization;
using System.Text;

namespace Cluster.Serialization;

/// <summary>
/// The few Protocol Buffers wire rules needed to read strings and nested messages by field number (varint,
/// 64-bit, length-delimited and 32-bit fields; anything else, a truncated field or a length past the end is a
/// <see cref="SerializationException"/>). Used to read Akka's exception record without Akka's reflection.
/// </summary>
internal static class ProtoReader
{
    /// <summary>The length-delimited fields of <paramref name="message"/> as (field number, bytes); other fields skipped.</summary>
    public static IEnumerable<(int Field, ReadOnlyMemory<byte> Bytes)> LengthDelimited(ReadOnlyMemory<byte> message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var key = Varint(message.Span, ref at);
            var field = (int)(key >> 3);
            if (field <= 0)
                throw new SerializationException("a protobuf field number of 0");
            switch (key & 7)
            {
                case 0:
                    Varint(message.Span, ref at);
                    break;
                case 1:
                    at = Skip(message.Length, at, 8);
                    break;
                case 5:
                    at = Skip(message.Length, at, 4);
                    break;
                case 2:
                    var length = Varint(message.Span, ref at);
                    if (length > (ulong)(message.Length - at))
                        throw new SerializationException("a protobuf field longer than its message");
                    yield return (field, message.Slice(at, (int)length));
                    at += (int)length;
                    break;
                default:
                    throw new SerializationException($"protobuf wire type {key & 7} is not read here");
            }
        }
    }

    /// <summary>The first length-delimited field <paramref name="field"/> as UTF-8 text; empty when absent.</summary>
    public static string String(ReadOnlyMemory<byte> message, int field)
    {
        foreach (var (f, bytes) in LengthDelimited(message))
            if (f == field)
                return Encoding.UTF8.GetString(bytes.Span);
        return "";
    }

    /// <summary>The first length-delimited field <paramref name="field"/>; null when absent.</summary>
    public static ReadOnlyMemory<byte>? Message(ReadOnlyMemory<byte> message, int field)
    {
        foreach (var (f, bytes) in LengthDelimited(message))
            if (f == field)
                return bytes;
        return null;
    }

    private static int Skip(int length, int at, int count) =>
        at + count <= length ? at + count : throw new SerializationException("a truncated protobuf field");

    private static ulong Varint(ReadOnlySpan<byte> span, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= span.Length)
                throw new SerializationException("a truncated protobuf varint");
            var b = span[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new SerializationException("a protobuf varint over 10 bytes");
    }
}
