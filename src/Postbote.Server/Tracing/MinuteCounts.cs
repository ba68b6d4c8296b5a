namespace Postbote.Tracing;

/// <summary>One minute of the admin page's charts (<see cref="PostboteMetrics.PerMinute"/>).</summary>
/// <param name="Minute">The minute as Unix time in minutes (seconds since 1970-01-01 UTC divided by 60).</param>
/// <param name="Accepted">Messages accepted in it.</param>
/// <param name="Delivered">Recipients delivered in it.</param>
/// <param name="Deferred">Recipients deferred in it.</param>
public sealed record MinuteCounts(long Minute, long Accepted, long Delivered, long Deferred);
