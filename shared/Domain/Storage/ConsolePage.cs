namespace SensorPipeline.Domain.Storage;

/// <summary>A page of a searched list: the items and how many matched in all.</summary>
public sealed record ConsolePage<T>(IReadOnlyList<T> Items, long Total);
