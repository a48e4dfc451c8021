using System.Text.Json.Serialization;

namespace Cluster.Vmctl.Output;

/// <summary>
/// The source-generated JSON metadata of what vmctl prints with <c>-o json|yaml</c> (its views and output records; the
/// contracts it prints come from <see cref="Contracts.Json.ContractJsonContext"/>): reflection-free, for the NativeAOT
/// vmctl. A type printed that is in neither context fails at run time in every build alike (see <see cref="Printer"/>).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, WriteIndented = true)]
[JsonSerializable(typeof(VmView))]
[JsonSerializable(typeof(NetworkView))]
[JsonSerializable(typeof(DiskView))]
[JsonSerializable(typeof(EventView))]
[JsonSerializable(typeof(HostView))]
[JsonSerializable(typeof(MigrationView))]
[JsonSerializable(typeof(MigrationEventView))]
[JsonSerializable(typeof(ErrorOutput))]
[JsonSerializable(typeof(DeniedOutput))]
[JsonSerializable(typeof(NewTokenOutput))]
[JsonSerializable(typeof(ConsoleText))]
[JsonSerializable(typeof(ApplyOutcome))]
[JsonSerializable(typeof(DrainOutcome))]
[JsonSerializable(typeof(ContextRow))]
[JsonSerializable(typeof(TopOutput))]
public sealed partial class PrintJsonContext : JsonSerializerContext;
