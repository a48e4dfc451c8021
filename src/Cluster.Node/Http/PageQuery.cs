namespace Cluster.Node.Http;

/// <summary>What a listing request asks for: at most <paramref name="Limit"/> items from <paramref name="Cursor"/> on (null: from the start).</summary>
public readonly record struct PageQuery(int Limit, string? Cursor);
