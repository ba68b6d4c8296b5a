namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A delivered file split into the trace fields the server added and the bytes the client sent.</summary>
/// <param name="ReturnPath">The Return-Path field with its CRLF.</param>
/// <param name="DeliveredTo">The Delivered-To field with its CRLF.</param>
/// <param name="Received">The Received field, folded lines and CRLFs included.</param>
/// <param name="Content">Everything after the three fields: the message as the client sent it, dot-unstuffed.</param>
public sealed record TracedMessage(string ReturnPath, string DeliveredTo, string Received, byte[] Content);
