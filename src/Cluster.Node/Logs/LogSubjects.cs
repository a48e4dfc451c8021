using System.Collections.Concurrent;
using System.Reflection;
using Cluster.Contracts;

namespace Cluster.Node.Logs;

/// <summary>
/// The VM and the migration a log line is about, or null: from the logging actor's path (a VM actor and its children,
/// the vCPU supervisor and the migration actors, live under <c>/user/vms/ID</c> on a standalone node and under
/// <c>/system/sharding/vm/SHARD/ID</c> in a cluster; a migration's actor is named <c>migration-ID</c>), then from the
/// message's arguments (a contract message that names a VM, a value with a <c>MigrationId</c>).
/// </summary>
public readonly record struct LogSubjects(string? Vm, string? Migration)
{
    private const string MigrationPrefix = "migration-";

    private static readonly ConcurrentDictionary<Type, PropertyInfo?> MigrationIds = new();

    /// <summary>The subjects of a line logged by the actor at <paramref name="path"/> with <paramref name="arguments"/>.</summary>
    public static LogSubjects From(string? path, IEnumerable<object?> arguments)
    {
        var (vm, migration) = FromPath(path);
        foreach (var argument in arguments)
        {
            if (vm is not null && migration is not null)
                break;
            if (argument is IWithVmId named && !string.IsNullOrEmpty(named.VmId))
                vm ??= named.VmId;
            if (argument is not null && migration is null)
                migration = MigrationIds.GetOrAdd(argument.GetType(), t => t.GetProperty("MigrationId", typeof(string)))?.GetValue(argument) as string;
        }
        return new LogSubjects(vm, migration);
    }

    private static (string? Vm, string? Migration) FromPath(string? path)
    {
        if (path is null || !Uri.TryCreate(path, UriKind.Absolute, out var uri))
            return (null, null);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        string? vm = null;
        for (var i = 0; i + 1 < segments.Length && vm is null; i++)
        {
            if (segments[i] == "user" && segments[i + 1] == "vms" && i + 2 < segments.Length)
                vm = segments[i + 2];
            else if (segments[i] == "sharding" && segments[i + 1] == "vm" && i + 2 < segments.Length)
                vm = i + 3 < segments.Length ? segments[i + 3] : segments[i + 2];
        }
        var migration = segments.LastOrDefault(s => s.StartsWith(MigrationPrefix, StringComparison.Ordinal))?[MigrationPrefix.Length..];
        return (vm, migration);
    }
}
