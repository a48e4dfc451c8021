using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>
/// The request bodies' serializer metadata, generated at build time: camelCase names matched exactly (no case folding,
/// no numbers in strings), unknown fields refused, required fields and nullability enforced. <see cref="RequestJson"/>
/// turns its exceptions into messages that name the field.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(VmSpecRequest))]
[JsonSerializable(typeof(MigrateRequest))]
[JsonSerializable(typeof(RebalanceModeRequest))]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(NetworkRequest))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
