"""Pure status computation: observed children in, StackStatus out."""
