// SwiftdArguments: how the swiftd command hands its arguments to the Swift
// runtime. It declares nothing: swiftd links it for the definitions in
// arguments.c, which replace the runtime's own.
#ifndef SWIFTDARGUMENTS_H
#define SWIFTDARGUMENTS_H
#endif
