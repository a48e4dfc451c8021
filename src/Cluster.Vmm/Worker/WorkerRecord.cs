using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The record of a live worker, <c>DIR/NAME.json</c>: written atomically (temp file, then rename) at start
/// and after every change of its VM, removed at exit. <see cref="WorkerDirectory"/> reads them.
/// </summary>
public sealed record WorkerRecord
{
    /// <summary>The worker's name.</summary>
    public required string Name { get; init; }
    /// <summary>Its process id.</summary>
    public int Pid { get; init; }
    /// <summary>The path of its control socket.</summary>
    public required string Socket { get; init; }
    /// <summary>The protocol version it speaks.</summary>
    public uint ProtocolVersion { get; init; }
    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }
    /// <summary>Its VM's id, once it has one.</summary>
    public string? VmId { get; init; }
    /// <summary>The VM's ownership epoch.</summary>
    public long Epoch { get; init; }
    /// <summary>The VM's state.</summary>
    public WorkerVmState State { get; init; }

    /// <summary>Writes the record to <paramref name="path"/> atomically.</summary>
    public void WriteTo(string path)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, ToUtf8());
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// The record as <see cref="Read"/> reads it, written field by field: the serializer's reflection start-up (its converters
    /// built and compiled) cost a new worker more CPU than anything else it does before it listens.
    /// </summary>
    internal byte[] ToUtf8()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString(nameof(Name), Name);
            w.WriteNumber(nameof(Pid), Pid);
            w.WriteString(nameof(Socket), Socket);
            w.WriteNumber(nameof(ProtocolVersion), ProtocolVersion);
            w.WriteString(nameof(StartedAt), StartedAt);
            if (VmId is null) w.WriteNull(nameof(VmId));
            else w.WriteString(nameof(VmId), VmId);
            w.WriteNumber(nameof(Epoch), Epoch);
            w.WriteString(nameof(State), State.ToString());
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a record; null when the file is gone or not a record.</summary>
    public static WorkerRecord? Read(string path)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(path), WorkerRecordJson.Default.WorkerRecord); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }
}

/// <summary>The source-generated serializer of <see cref="WorkerRecord"/> (no reflection: it works in the NativeAOT worker).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(WorkerRecord))]
internal sealed partial class WorkerRecordJson : JsonSerializerContext;
