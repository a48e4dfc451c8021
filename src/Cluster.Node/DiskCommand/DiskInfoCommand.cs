using Cluster.Node.Cli;
using System.Text.Json;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary><c>cluster-node disk info</c>: as qemu-img info, with the whole backing chain.</summary>
internal static class DiskInfoCommand
{
    public static int Run(CliArgs a, TextWriter stdout, TextWriter stderr)
    {
        var info = DiskImage.Info(a.Operands[0]);
        stdout.Write(a.Has("--json") ? Json(info) : Text(info));
        return DiskCommands.ExitOk;
    }

    private static string Name(DiskFormat format) => format == DiskFormat.Raw ? "raw" : "qcow2";

    private static string Text(DiskImageInfo info)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"image: {info.Path}");
        text.AppendLine($"file format: {Name(info.Format)}");
        text.AppendLine($"virtual size: {DiskCommands.Human(info.VirtualSize)} ({info.VirtualSize} bytes)");
        text.AppendLine($"disk size: {DiskCommands.Human((ulong)info.AllocatedBytes)} ({info.AllocatedBytes} bytes allocated)");
        if (info.ClusterSize is { } cs)
            text.AppendLine($"cluster_size: {cs}");
        if (info.BackingFile is { } b)
            text.AppendLine($"backing file: {b}");
        if (info.Snapshots.Count > 0)
            text.AppendLine($"snapshots: {string.Join(", ", info.Snapshots)}");
        if (info.Backing is not null)
        {
            text.AppendLine("backing chain:");
            foreach (var i in info.Chain())
                text.AppendLine($"  {i.Path} ({Name(i.Format)}, {DiskCommands.Human(i.VirtualSize)}, {DiskCommands.Human((ulong)i.AllocatedBytes)} allocated)");
        }
        return text.ToString();
    }

    private static string Json(DiskImageInfo info)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            Fields(json, info);
            json.WriteStartArray("backing-chain");
            foreach (var i in info.Chain().Skip(1))
            {
                json.WriteStartObject();
                Fields(json, i);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    private static void Fields(Utf8JsonWriter json, DiskImageInfo info)
    {
        json.WriteString("filename", info.Path);
        json.WriteString("format", Name(info.Format));
        json.WriteNumber("virtual-size", info.VirtualSize);
        json.WriteNumber("actual-size", info.AllocatedBytes);
        json.WriteNumber("file-length", info.FileLength);
        if (info.ClusterSize is { } cs)
            json.WriteNumber("cluster-size", cs);
        if (info.BackingFile is { } b)
            json.WriteString("backing-filename", b);
        json.WriteStartArray("snapshots");
        foreach (var s in info.Snapshots)
            json.WriteStringValue(s);
        json.WriteEndArray();
    }
}
