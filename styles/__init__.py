"""The board's stylesheets (board.tcss), shipped as package data so a wheel finds them."""
