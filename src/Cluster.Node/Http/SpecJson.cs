using System.Text.Json;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Node.Http.Requests;

namespace Cluster.Node.Http;

/// <summary>
/// Reads a VM spec from the HTTP API's JSON, a <see cref="VmSpecRequest"/>: {"id", "name"?, "vcpus"?, "memory"? (bytes or
/// "64M"), "image" (a built-in name), "args"?, "labels"?, "antiAffinity"?, "priority"?, "restart"? (never|on-failure|always),
/// "maxRestarts"?, "disks"? ([{"path", "format"? (raw|qcow2, absent to probe), "readonly"?, "cache"? (none|writeback),
/// "serial"?}]), "nics"? ([{"network", "mac"?}]), "start"?}. Unknown fields, missing and wrong types are refused by
/// <see cref="RequestJson"/> with a message naming the field; the values themselves are checked by the spec validator
/// behind the control entry point.
/// </summary>
public static class SpecJson
{
    /// <summary>Parses a spec; null with <paramref name="error"/> set when the JSON is not a spec.</summary>
    public static VmSpec? Parse(JsonElement json, out bool start, out string? error)
    {
        start = false;
        if (RequestJson.Read(json, ApiJsonContext.Default.VmSpecRequest, out error) is not { } request)
            return null;
        try
        {
            start = request.Start ?? false;
            return ToSpec(request);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static VmSpec ToSpec(VmSpecRequest r)
    {
        RestartMode mode = (r.Restart ?? "never") switch
        {
            "never" => RestartMode.Never, "on-failure" => RestartMode.OnFailure, "always" => RestartMode.Always,
            var other => throw new FormatException($"'restart' must be never, on-failure or always, not '{other}'"),
        };
        return new VmSpec(r.Id, r.Name ?? r.Id, r.Vcpus ?? 1, r.Memory?.Bytes ?? 16UL << 20, new BuiltInImage(r.Image), r.Args ?? [],
            r.Labels?.ToDictionary() ?? [], r.AntiAffinity, new RestartPolicy(mode, r.MaxRestarts ?? (mode == RestartMode.Never ? 0 : 3)),
            r.Priority ?? 0)
        {
            Disks = [.. (r.Disks ?? []).Select(ToDisk)],
            Nics = [.. (r.Nics ?? []).Select(n => new NicSpec(n.Network, n.Mac))],
        };
    }

    /// <summary>A disk; format and cache values go through the disk syntax's own value parsers.</summary>
    private static DiskSpec ToDisk(DiskRequest d)
    {
        if (!DiskSpecText.TryParseFormat(d.Format?.ToLowerInvariant(), out var format, out var error)
            || !DiskSpecText.TryParseCache(d.Cache?.ToLowerInvariant(), out var cache, out error))
            throw new FormatException($"disk '{d.Path}': {error}");
        return new DiskSpec(d.Path, format, d.Readonly ?? d.ReadOnly ?? false, cache, d.Serial);
    }
}
