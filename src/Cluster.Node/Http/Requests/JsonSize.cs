using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>
/// A size in bytes as a request body gives it: a JSON number of bytes, or a string like "64M" or "1GiB". Read by
/// <see cref="JsonSizeConverter"/>, the HTTP API's one call of the size parser.
/// </summary>
[JsonConverter(typeof(JsonSizeConverter))]
public readonly record struct JsonSize(ulong Bytes);
