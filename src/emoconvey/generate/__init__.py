"""Clip generation under the AImoclips protocol (Go et al., 2025, section 3.2).

``emoconvey.generate.backends`` holds the text-to-music backends behind one small
interface (:class:`~emoconvey.generate.backends.base.Backend`); the protocol itself
(prompts, seeds, the 15-85 % crop, the output layout and manifest) lives beside it.
Heavy libraries (torch, transformers, diffusers, ray) are imported lazily.
"""
