"""The synthetic district (issue 11): a deterministic 鸠江区 generated from a seed, loaded through the public paths.

- `model`: the district as frozen data;
- `population.generate(seed, scale)`: builds it;
- `stack`: a persistent private stack (PostgreSQL, broker, the four services) on a simulated calendar;
- `load`: loads a district into a stack through the services' HTTP APIs only.
"""
