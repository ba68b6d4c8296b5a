namespace Postbote.Tracing;

/// <summary>What a lookup in the event store found (<see cref="MessageEventStore.Find"/>).</summary>
/// <param name="Events">The events of the message and of the messages linked to it, in the order they happened.</param>
/// <param name="Segments">How many segment files were read.</param>
/// <param name="Bytes">Their size in bytes.</param>
/// <param name="Lines">How many stored events were read.</param>
public sealed record TraceResult(IReadOnlyList<TracedEvent> Events, int Segments, long Bytes, long Lines);
